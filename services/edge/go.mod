module github.com/camstream/camstream/services/edge

go 1.26.0

replace github.com/camstream/camstream/gen => ../../gen
