// Package deploy holds camstream's Kubernetes manifests (kustomize: base/
// and overlays/) and the tests that check them, the Dockerfiles and the
// real binaries against each other. There is no Go code to build here: the
// tests render every kustomization in-process, decode the objects strictly
// into k8s.io/api types, parse the Dockerfiles with BuildKit's parser, and
// run bin/capture and bin/edge the way their containers would run them.
package deploy
