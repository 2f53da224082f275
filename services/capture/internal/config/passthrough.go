package config

// PassThrough reports whether the camera may forward its source's own JPEG
// frames undecoded when the source delivers JPEG: no picture control, no
// resize and no quality asks for different pixels or bytes.
func (c Camera) PassThrough() bool {
	return c.Controls.IsZero() && c.Width == 0 && !c.QualitySet
}
