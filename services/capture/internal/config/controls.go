package config

// Controls are a camera's picture controls (rotate, flip, crop, masks,
// overlay), applied once per frame before any encode, so in every size,
// snapshot and stream. The zero value changes nothing.
type Controls struct{}

// IsZero reports whether no control is set: the picture is used as the
// source gives it, and a JPEG source may pass through undecoded.
func (c Controls) IsZero() bool { return c == Controls{} }
