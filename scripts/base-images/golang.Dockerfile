# golang:<version>-bookworm made locally (scripts/base-images.sh): Debian,
# the C toolchain cgo needs, and Go at /usr/local/go with the environment
# of the official image. The build context holds the toolchain as go/.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates git gcc g++ libc6-dev make pkg-config \
 && rm -rf /var/lib/apt/lists/*
ARG GO_VERSION
ENV GOLANG_VERSION=${GO_VERSION} GOTOOLCHAIN=local GOPATH=/go
ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY go/ /usr/local/go/
RUN mkdir -p /go/src /go/bin && chmod -R 1777 /go
WORKDIR /go
