module github.com/camstream/camstream/test

go 1.26.0
