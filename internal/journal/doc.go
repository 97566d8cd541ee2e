// Package journal owns av1job's durable job state on disk: an append-only,
// checksummed record log ([Log]), an atomic file replacement helper
// ([WriteFileAtomic]) and the job directory lock ([Lock]).
//
// av1job must survive kill -9 and power cuts at any instant, so every
// function here is written against the following rules. Callers may rely on
// them; changes to this package must keep them.
//
//  1. A record is on disk when Append returns nil: the line has been written
//     and the file fsynced (and, for a newly created log, its directory
//     fsynced by Open). An Append that returns an error may or may not have
//     reached the disk.
//  2. A torn or corrupt last record (a crash in the middle of a write, a
//     zero-filled or garbage tail) is ignored, never fatal. Open truncates it
//     away, fsyncs, and reports it through [Log.Dropped], so later appends
//     start on a clean line.
//  3. A corrupt record in the middle of the log is skipped and reported, never
//     fatal; the records after it are kept. Open does not rewrite the middle
//     of a log.
//  4. A file replaced with WriteFileAtomic holds either its old or its new
//     content after a crash, never a mix, and no partially written file
//     appears under the final name.
//  5. One process owns a job directory at a time: [Acquire] takes an
//     exclusive flock on the directory itself (and on its lock file, which
//     also records the owner's PID). Deleting the lock file cannot free a
//     job that runs. The kernel drops the locks when the owner dies, however
//     it dies, so a stale lock file never blocks a restart. (Go opens files close-on-exec, so child processes such as
//     encoders do not inherit the lock.)
//
// # Log format
//
// A log is a text file with one record per line:
//
//	<crc> <payload>\n
//
// where <crc> is exactly 8 lowercase hexadecimal digits of the CRC-32C
// (Castagnoli) checksum of the payload bytes, followed by one space, the
// payload and a newline. The payload is opaque to this package and must not
// contain a newline; callers store compact JSON. An empty payload is allowed.
// For example, the payload {"a":1} is stored as:
//
//	cff7d56a {"a":1}
//
// Any line that does not have exactly this shape, or whose checksum does not
// match its payload, is invalid.
package journal
