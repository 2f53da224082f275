#!/usr/bin/env bash
# Makes the base images the Dockerfiles start FROM, in the local container
# storage, under exactly the names the Dockerfiles use, for a machine that
# cannot pull them from a registry:
#   debian:bookworm-slim            debootstrap --variant=minbase from the
#                                   machine's own Debian mirror, slimmed as
#                                   the official image is
#   golang:<GO_VERSION>-bookworm    that, plus gcc and the Go toolchain that
#                                   the Go module proxy serves as
#                                   golang.org/toolchain
#   gcr.io/distroless/static-debian12:nonroot
#                                   a root with /etc/passwd (nonroot 65532),
#                                   /tmp, CA certificates and tzdata; no shell
# An image that is already there (made before, or pulled) is kept: pulling
# the official images first gives the same builds with them.
# Needs root (debootstrap, buildah), buildah, debootstrap and Go.
# DEBIAN_MIRROR overrides the mirror read from /etc/apt/sources.list*.
set -euo pipefail
cd "$(dirname "$0")/.."

go_version=$(sed -n 's/^ARG GO_VERSION=//p' Dockerfile.capture)
suite=bookworm
debian=docker.io/library/debian:${suite}-slim
golang=docker.io/library/golang:${go_version}-${suite}
distroless=$(sed -n 's/^FROM \(gcr\.io\/distroless\/[^ ]*\).*/\1/p' Dockerfile.edge)
[ -n "$go_version" ] && [ -n "$distroless" ] || { echo "base-images: cannot read GO_VERSION or the distroless base from the Dockerfiles" >&2; exit 1; }

tmp=$(mktemp -d /var/tmp/camstream-base.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

have() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# apt_uri SUITE: the first URI of the machine's apt sources that serves
# SUITE, from one-line (sources.list) or deb822 (*.sources) files.
apt_uri() {
  local suite=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/\[[^]]*\]//' "$f" | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }'
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" } {
      uri = ""; ok = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { split($i, w, " "); uri = w[2] }
        if ($i ~ /^Suites:/) { n = split($i, w, " "); for (j = 2; j <= n; j++) if (w[j] == s) ok = 1 }
      }
      if (ok && uri != "") { print uri; exit }
    }' "$f"
  done
}

make_debian() {
  local mirror security work root ctr mnt
  mirror=${DEBIAN_MIRROR:-$(apt_uri "$suite" | head -1)}
  security=${DEBIAN_SECURITY_MIRROR:-$(apt_uri "$suite-security" | head -1)}
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "base-images: $debian from $mirror (debootstrap --variant=minbase)"
  work=$tmp/debian
  root=$work/root
  mkdir -p "$work"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; echo "base-images: debootstrap failed (log above)" >&2; return 1; }
  slim "$root" "$mirror" "$security"
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  cp -a "$root/." "$mnt/"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$ctr"
  buildah commit --rm -q "$ctr" "$debian" >/dev/null
}

# slim ROOT MIRROR SECURITY: what the official slim image leaves out
# (documentation, man pages, translations; kept out of later installs by
# dpkg's path-exclude) and the apt sources it has.
slim() {
  local root=$1 mirror=$2 security=$3
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{groff,info,linda,lintian,locale,man}/*
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -f "$root/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$suite" "$suite"
    [ -z "$security" ] || printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security" "$suite"
  } >"$root/etc/apt/sources.list.d/debian.sources"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log "$root"/var/log/apt/*
  : >"$root/etc/machine-id"
}

# The Go toolchain as the module proxy serves it (the files of the official
# release archive; module zips keep no file modes, so the commands get
# their execute bits back here, as the go command does when it switches
# toolchains).
make_golang() {
  local mod dir ctx
  mod=golang.org/toolchain@v0.0.1-go${go_version}.linux-$(go env GOARCH)
  echo "base-images: $golang from $debian and $mod"
  dir=$(cd /tmp && GOFLAGS= GOTOOLCHAIN=local go mod download -json "$mod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -x "$dir/bin/go" ] || [ -f "$dir/bin/go" ] || { echo "base-images: go mod download $mod gave no toolchain" >&2; return 1; }
  ctx=$tmp/golang
  mkdir -p "$ctx"
  cp -r "$dir" "$ctx/go"
  chmod -R u+w,go-w "$ctx/go"
  chmod 0755 "$ctx"/go/bin/* "$ctx"/go/pkg/tool/*/*
  buildah bud --isolation chroot --pull=false --layers -q \
    --build-arg "BASE=$debian" --build-arg "GO_VERSION=$go_version" \
    -f scripts/base-images/golang.Dockerfile -t "$golang" "$ctx" >/dev/null
}

make_distroless() {
  echo "base-images: $distroless from $debian (passwd, /tmp, CA certificates, tzdata)"
  buildah bud --isolation chroot --pull=false --layers -q \
    --build-arg "BASE=$debian" \
    -f scripts/base-images/distroless-static.Dockerfile -t "$distroless" scripts/base-images >/dev/null
}

for img in "$debian" "$golang" "$distroless"; do
  if have "$img"; then
    echo "base-images: $img is there"
    continue
  fi
  case $img in
    "$debian") make_debian ;;
    "$golang") make_golang ;;
    "$distroless") make_distroless ;;
  esac
done
