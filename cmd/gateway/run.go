package main

import (
	"context"
	"io"
	"os/signal"
	"syscall"
)

// run is the whole program; main only calls it. Tests call it too, with
// their own args, environment and output. It only wires the parts
// together (wiring.go); each part registers what must be closed, so a
// start-up failure closes whatever was already opened, last first.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	flags, err := parseFlags(args, stderr)
	if err != nil || flags.version {
		return printVersion(flags, err, stdout)
	}
	log := newLogger(stderr)
	var cleanup closers
	defer cleanup.close()

	cfg, banner, err := loadConfig(ctx, flags.dev, getenv, log, stdout, &cleanup)
	if err != nil {
		return err
	}
	tracing, err := startTracing(ctx, getenv, log, &cleanup)
	if err != nil {
		return err
	}
	reg := newRegistry()
	// Background work (JWKS refreshes, snapshot refreshes, purges) lives as
	// long as run, past the signal that starts the drain.
	bg := background(ctx, &cleanup)
	verifier, err := newVerifier(bg, cfg, reg)
	if err != nil {
		return err
	}
	vendors, err := newVendors(cfg, reg, log, tracing.Provider)
	if err != nil {
		return err
	}
	edge, err := newEdge(cfg, reg)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, bg, cfg, reg, log, &cleanup)
	if err != nil {
		return err
	}
	jobs, err := newJobs(cfg, db, vendors, log, &cleanup)
	if err != nil {
		return err
	}
	snaps := startSnapshots(bg, vendors, cfg, log)

	var ready readiness
	handler := newHandler(handlerParts{
		cfg: cfg, log: log, reg: reg, verifier: verifier, vendors: vendors, edge: edge,
		db: db, jobs: jobs, snaps: snaps, tracer: tracing.Provider, ready: &ready,
	})
	return serve(ctx, cfg, handler, log, banner, &ready)
}
