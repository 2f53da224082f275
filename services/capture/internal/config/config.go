// Package config loads the cameras a capture process owns: from a YAML
// camera file (with ${VAR} expanded from the environment and ${file:PATH}
// from files), from the seed's OPENCV_CAMERA_SOURCE variable, or the two
// built-in test cameras; and keeps only those of this process's shard.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults for fields a camera file leaves out.
const (
	DefaultQuality     = 80
	DefaultIdleTimeout = 10 * time.Second
)

// Limits of the camera file's fields.
const (
	MaxFPS      = 240
	MinWidth    = 16
	MaxWidth    = 7680
	maxIDLength = 63
)

// Camera is one camera, validated and with defaults applied.
type Camera struct {
	ID     string
	Name   string
	Source Source
	// SubSource is the camera's own lower-resolution stream, if it has
	// one (zero Kind when not set): the smaller sizes up to its width are
	// made from it.
	SubSource   Source
	FPS         float64 // frame-rate cap, 0 = as the source gives
	Width       int     // resize keeping the aspect ratio, 0 = as is
	Quality     int     // JPEG quality 1..100
	QualitySet  bool    // quality was written in the camera file
	OnDemand    bool
	IdleTimeout time.Duration
	Controls    Controls // picture controls, applied before any encode
}

// Equal reports whether c and o are the same camera with the same
// settings, credentials included: a reload restarts a camera whose
// settings differ in any field. Fields other than Controls are compared
// as values, so a field added later is compared too.
func (c Camera) Equal(o Camera) bool {
	cc, oc := c.Controls, o.Controls
	c.Controls, o.Controls = Controls{}, Controls{}
	return cc.Equal(oc) && reflect.DeepEqual(c, o)
}

// file is the camera file as written.
type file struct {
	Cameras []fileCamera `yaml:"cameras"`
}

type fileCamera struct {
	ID          string         `yaml:"id"`
	Name        string         `yaml:"name"`
	Source      string         `yaml:"source"`
	SubSource   string         `yaml:"sub_source"`
	FPS         float64        `yaml:"fps"`
	Width       int            `yaml:"width"`
	Quality     *int           `yaml:"quality"`
	OnDemand    bool           `yaml:"on_demand"`
	IdleTimeout *time.Duration `yaml:"idle_timeout"`
	Controls    fileControls   `yaml:",inline"`
}

// Load returns the cameras to run: those of the camera file at path when
// path is set, else one camera "cam1" from OPENCV_CAMERA_SOURCE when that is
// set, else the built-in test cameras.
func Load(path string, env Env) ([]Camera, error) {
	switch {
	case path != "":
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("camera file: %w", err)
		}
		cams, err := Parse(data, env)
		if err != nil {
			return nil, fmt.Errorf("camera file %s: %w", path, err)
		}
		return cams, nil
	case env.Getenv != nil && env.Getenv("OPENCV_CAMERA_SOURCE") != "":
		cam, err := FromEnvSource(env.Getenv("OPENCV_CAMERA_SOURCE"))
		if err != nil {
			return nil, fmt.Errorf("OPENCV_CAMERA_SOURCE: %w", err)
		}
		return []Camera{cam}, nil
	default:
		return Builtin(), nil
	}
}

// Parse parses and validates a camera file. Errors name the camera and the
// field to fix.
func Parse(data []byte, env Env) ([]Camera, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no cameras: the file is empty")
		}
		return nil, fmt.Errorf("not a valid camera file: %s", oneLine(err.Error()))
	}
	if len(f.Cameras) == 0 {
		return nil, errors.New("no cameras: want a list under \"cameras:\"")
	}
	cams := make([]Camera, 0, len(f.Cameras))
	seen := make(map[string]int, len(f.Cameras))
	for i, fc := range f.Cameras {
		cam, err := fc.validate(env)
		if err != nil {
			who := fmt.Sprintf("camera %q", fc.ID)
			if fc.ID == "" {
				who = fmt.Sprintf("camera #%d", i+1)
			}
			return nil, fmt.Errorf("%s: %w", who, err)
		}
		if first, dup := seen[cam.ID]; dup {
			return nil, fmt.Errorf("camera %q: id: used by camera #%d and #%d, ids must be unique", cam.ID, first, i+1)
		}
		seen[cam.ID] = i + 1
		cams = append(cams, cam)
	}
	return cams, nil
}

func (fc fileCamera) validate(env Env) (Camera, error) {
	if err := validID(fc.ID); err != nil {
		return Camera{}, err
	}
	raw, err := Expand(fc.Source, env)
	if err != nil {
		return Camera{}, fmt.Errorf("source: %w", err)
	}
	if raw == "" {
		return Camera{}, errors.New("source: required")
	}
	src, err := ParseSource(raw)
	if err != nil {
		return Camera{}, fmt.Errorf("source: %w", err)
	}
	sub, err := fc.subSource(env, raw)
	if err != nil {
		return Camera{}, err
	}
	name, err := Expand(fc.Name, env)
	if err != nil {
		return Camera{}, fmt.Errorf("name: %w", err)
	}
	if name == "" {
		name = fc.ID
	}
	cam := Camera{
		ID: fc.ID, Name: name, Source: src, SubSource: sub, FPS: fc.FPS, Width: fc.Width,
		Quality: DefaultQuality, OnDemand: fc.OnDemand, IdleTimeout: DefaultIdleTimeout,
	}
	if fc.Quality != nil {
		cam.Quality, cam.QualitySet = *fc.Quality, true
	}
	if fc.IdleTimeout != nil {
		cam.IdleTimeout = *fc.IdleTimeout
	}
	switch {
	case !(cam.FPS >= 0 && cam.FPS <= MaxFPS): // also catches NaN
		return Camera{}, fmt.Errorf("fps: %v is out of range 0..%d (0 = as the source gives)", fc.FPS, MaxFPS)
	case cam.Width != 0 && (cam.Width < MinWidth || cam.Width > MaxWidth):
		return Camera{}, fmt.Errorf("width: %d is out of range %d..%d (0 = as the source gives)", cam.Width, MinWidth, MaxWidth)
	case cam.Quality < 1 || cam.Quality > 100:
		return Camera{}, fmt.Errorf("quality: %d is out of range 1..100", cam.Quality)
	case cam.IdleTimeout < 0:
		return Camera{}, fmt.Errorf("idle_timeout: %v is negative", cam.IdleTimeout)
	}
	cam.Controls, err = fc.Controls.validate()
	if err != nil {
		return Camera{}, err
	}
	return cam, nil
}

func validID(id string) error {
	switch {
	case id == "":
		return errors.New("id: required")
	case len(id) > maxIDLength:
		return fmt.Errorf("id: %q is longer than %d characters", id, maxIDLength)
	case !validIDChars(id):
		return fmt.Errorf("id: %q must be lower-case letters, digits and inner dashes ([a-z0-9-]+)", id)
	}
	return nil
}

// FromEnvSource is the seed's single camera: OPENCV_CAMERA_SOURCE as a
// source, a bare device number ("0") or a file path ("/videos/a.mp4").
func FromEnvSource(s string) (Camera, error) {
	s = strings.TrimSpace(s)
	switch {
	case isDigits(s):
		s = "device:" + s
	case strings.HasPrefix(s, "/"):
		s = "file:" + s
	}
	src, err := ParseSource(s)
	if err != nil {
		return Camera{}, err
	}
	return Camera{
		ID: "cam1", Name: "Camera 1", Source: src,
		Quality: DefaultQuality, IdleTimeout: DefaultIdleTimeout,
	}, nil
}

// Builtin returns the two test cameras used when nothing is configured.
func Builtin() []Camera {
	cam := func(id, name, pattern string) Camera {
		src, _ := ParseSource("test://" + pattern)
		return Camera{
			ID: id, Name: name, Source: src, FPS: 15, Width: 640,
			Quality: DefaultQuality, IdleTimeout: DefaultIdleTimeout,
		}
	}
	return []Camera{
		cam("test1", "Test pattern 1", PatternBall),
		cam("test2", "Test pattern 2", PatternSMPTE),
	}
}

// validIDChars reports whether id is [a-z0-9]+ groups joined by single dashes.
func validIDChars(id string) bool {
	for i, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0 && i < len(id)-1 && id[i-1] != '-':
		default:
			return false
		}
	}
	return id != ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// oneLine joins a multi-line parser error into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
