//go:build !linux

package reload

import "os"

// inode is nil where the file's identity is not at hand: size and time
// still tell most changes.
func inode(os.FileInfo) any { return nil }
