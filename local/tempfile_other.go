//go:build !linux

package local

import "os"

// tempFile returns a new file in the temporary directory whose name is
// removed at once.
func tempFile() (*os.File, error) { return namedTempFile() }
