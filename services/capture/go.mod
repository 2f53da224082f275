module github.com/camstream/camstream/services/capture

go 1.26.0

replace github.com/camstream/camstream/gen => ../../gen
