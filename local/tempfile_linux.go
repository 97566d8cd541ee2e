package local

import (
	"os"

	"golang.org/x/sys/unix"
)

// tempFile returns a new file in the temporary directory that has no
// name (O_TMPFILE; where the file system cannot, one whose name is removed
// at once): nothing is left behind however the process ends.
func tempFile() (*os.File, error) {
	if f, err := os.OpenFile(os.TempDir(), os.O_RDWR|unix.O_TMPFILE, 0o600); err == nil {
		return f, nil
	}
	return namedTempFile()
}
