// Package av1job runs long AV1 encodes that can be stopped and resumed: it
// splits a source into chunks at scene cuts, encodes the chunks in parallel
// with rav1e, records every finished chunk in a crash-safe journal, and joins
// the chunks into the output without re-encoding.
//
// A job is named by its output path. Its state lives in a job directory
// beside the output (OUTPUT.av1job unless Options.JobDir says otherwise):
//
//	job.json      the plan: settings, fingerprint, frame timestamps, chunks
//	journal.log   one checksummed record per finished chunk (package journal)
//	lock          held by the process that runs the job
//	chunks/       NNNNN.ivf for finished chunks, NNNNN.ivf.part while encoding
//
// Write order: a chunk file is fsynced and renamed into place before the
// journal records it; the record is fsynced before the chunk counts as done
// anywhere. On resume every recorded chunk's size and SHA-256 are checked;
// a chunk that fails the check is encoded again. The output appears only by
// an atomic rename of a complete, checked file.
package av1job
