module github.com/camstream/camstream/deploy

go 1.26.0
