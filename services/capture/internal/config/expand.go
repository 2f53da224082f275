package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFile bounds a file read by ${file:PATH}: it holds a user name
// or a password, not a document.
const maxSecretFile = 64 << 10

// Env resolves the references in a camera file: ${NAME} from the
// environment, ${file:PATH} from a file. A file can change while capture
// runs (a mounted Kubernetes Secret is updated in place by the kubelet), so
// a password kept in one can be rotated without a restart; an environment
// variable is fixed for the life of the process.
type Env struct {
	Getenv func(string) string
	// ReadFile reads the files of ${file:PATH}; nil means os.ReadFile.
	ReadFile func(path string) ([]byte, error)
}

// Expand replaces every ${NAME} in s with the environment variable NAME and
// every ${file:PATH} with the content of the file at the absolute PATH (one
// trailing line break dropped). A variable that is not set (or empty), or a
// file that is missing or empty, is an error, so that a missing Secret
// stops a load instead of producing a URL without a password. Other '$'
// characters stay as they are.
func Expand(s string, env Env) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New("unterminated ${ (want ${NAME} or ${file:PATH})")
		}
		value, err := env.lookup(s[i+2 : i+end])
		if err != nil {
			return "", err
		}
		b.WriteString(s[:i])
		b.WriteString(value)
		s = s[i+end+1:]
	}
}

// lookup resolves the inside of one ${...}.
func (env Env) lookup(ref string) (string, error) {
	if path, ok := strings.CutPrefix(ref, "file:"); ok {
		return env.readSecret(path)
	}
	if !validEnvName(ref) {
		return "", fmt.Errorf("${%s} is not a valid variable name (want ${NAME} or ${file:PATH})", ref)
	}
	value := ""
	if env.Getenv != nil {
		value = env.Getenv(ref)
	}
	if value == "" {
		return "", fmt.Errorf("environment variable %s is not set", ref)
	}
	return value, nil
}

// readSecret reads the file of ${file:PATH}. Its errors name the path,
// never the content.
func (env Env) readSecret(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("${file:%s}: the path must be absolute", path)
	}
	read := env.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("${file:%s}: %w", path, err)
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("${file:%s}: larger than %d KiB, not a credential", path, maxSecretFile>>10)
	}
	value := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if value == "" {
		return "", fmt.Errorf("${file:%s}: the file is empty", path)
	}
	return value, nil
}

// validEnvName reports whether name is [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(name string) bool {
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return name != ""
}
