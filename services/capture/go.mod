module github.com/camstream/camstream/services/capture

go 1.26.0

replace github.com/camstream/camstream/gen => ../../gen

require (
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.4
	gocv.io/x/gocv v0.25.0
)

require github.com/kr/pretty v0.3.1 // indirect
