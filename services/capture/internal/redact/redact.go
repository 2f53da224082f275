// Package redact prints camera source URLs without their credentials. It is
// the only way a source URL may reach a log line, an error, an API response,
// a metric label or a page.
package redact

import (
	"net/url"
	"strings"
)

// mask replaces every secret part of a source.
const mask = "***"

// Source returns source with any user and password replaced by ***
// (rtsp://***@host:port/path) and the values of credential-like query
// parameters masked. Sources that are not URLs (device:0, file:/a.mp4,
// test://ball) come back as they are.
func Source(source string) string {
	scheme, rest, ok := strings.Cut(source, "://")
	if !ok {
		// Not a URL; still never print what looks like user:password@.
		if at := strings.LastIndexByte(source, '@'); at >= 0 {
			return mask + "@" + source[at+1:]
		}
		return source
	}
	// Everything before the last '@' is taken as credentials, even when it
	// holds a '/', '?' or '#' that a URL parser would read differently: this
	// may hide a little too much of an odd URL, but never a password.
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		return scheme + "://" + mask + "@" + redactQuery(rest[at+1:])
	}
	return scheme + "://" + redactQuery(rest)
}

// redactQuery masks credential-like values in the query of path.
func redactQuery(path string) string {
	p, query, ok := strings.Cut(path, "?")
	if !ok {
		return path
	}
	parts := strings.Split(query, "&")
	for i, part := range parts {
		name, _, hasValue := strings.Cut(part, "=")
		key, err := url.QueryUnescape(name)
		if err != nil {
			key = name
		}
		if hasValue && isSecretParam(strings.ToLower(key)) {
			parts[i] = name + "=" + mask
		}
	}
	return p + "?" + strings.Join(parts, "&")
}

// isSecretParam reports whether a query parameter commonly carries
// credentials (http://cam/mjpg?user=admin&pwd=secret).
func isSecretParam(name string) bool {
	switch name {
	case "user", "username", "usr", "login",
		"pass", "password", "passwd", "pwd", "psw",
		"key", "apikey", "api_key", "token", "access_token", "auth",
		"secret", "signature", "sig":
		return true
	}
	return false
}
