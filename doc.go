// Package av1job runs long AV1 encodes that can be stopped and resumed: it
// splits a source into chunks at scene cuts, encodes the chunks in parallel
// with rav1e, records every finished chunk in a crash-safe journal, and joins
// the chunks into the output without re-encoding.
//
// A job is named by its output path. Its state lives in a job directory
// beside the output (OUTPUT.av1job unless Options.JobDir says otherwise;
// package jobdir owns its layout):
//
//	job.json      the plan: settings, fingerprint, frame timestamps, chunks
//	journal.log   one checksummed record per finished chunk, the output's identity, the end
//	chunks/       NNNNN.ivf for finished chunks, NNNNN.ivf.part while encoding
//
// Each job has one coordinator, the only writer of its journal, its ledger
// (the chunk list as the journal leaves it) and its events. Chunk work
// leaves the coordinator as a Task, a plain value an Executor runs
// (LocalExecutor encodes on this machine), and comes back through one commit
// path that refuses duplicate and late results. The seam's values live in
// package task, the local executor in package local and the coordinator in
// internal/coord; chunks on other machines are package cluster's, so a
// program that imports this package alone links no NATS.
//
// Write order: a chunk file is fsynced, decoded by an independent decoder
// and renamed into place before the journal records it; the record is
// fsynced before the chunk counts as done anywhere. On resume every
// recorded chunk's size and SHA-256 are checked; a chunk that fails the
// check is encoded again. The output appears only by an atomic rename of a
// complete, checked file whose identity was journalled first.
package av1job
