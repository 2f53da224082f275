package main

import (
	"log/slog"

	"github.com/camstream/camstream/services/edge/internal/access"
	"github.com/camstream/camstream/services/edge/internal/reload"
)

// accessTable reads the access file and returns what keeps its tokens
// current as the file changes (a Secret updated in place); nil without one.
func accessTable(log *slog.Logger, name string) (func() *access.Table, error) {
	if name == "" {
		return nil, nil
	}
	f, err := reload.New(log, func() (*access.Table, error) { return access.Load(name) }, name)
	if err != nil {
		return nil, err
	}
	return f.Get, nil
}
