package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/partnerhub/gateway/internal/store/pgtest"
)

// asProcessEnv makes the test binary run the real gateway (main) instead of
// the tests, so restart tests can SIGKILL a real process without building
// another binary.
const asProcessEnv = "GATEWAY_TEST_AS_PROCESS"

// Otherwise it runs the tests, stops the throwaway PostgreSQL server
// pgtest may have started, and fails the package when any test left a
// goroutine behind: a gateway, simulator or client connection that
// outlives its test.
func TestMain(m *testing.M) {
	if os.Getenv(asProcessEnv) == "1" {
		main()
		os.Exit(0)
	}
	code := pgtest.Run(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left behind after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// process is the gateway running as a child process.
type process struct {
	URL  string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

// startProcess starts the gateway as a child process with exactly env (no
// inherited GATEWAY_* variables) and waits until it listens.
func startProcess(t *testing.T, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{asProcessEnv + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout = p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		// Copy the log; report the first "listening" line.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = fmt.Fprintln(p.log, line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case err := <-p.done:
		p.done <- err
		t.Fatalf("gateway process exited before listening: %v\nlog:\n%s", err, p.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("gateway process did not listen within 60s; log:\n%s", p.log.String())
	}
	return p
}

// wait waits for the process to exit and returns its error.
func (p *process) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("gateway process did not exit within 30s; log:\n%s", p.log.String())
		return nil
	}
}

// terminate sends SIGTERM (graceful drain) and waits.
func (p *process) terminate(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("gateway process exited with %v after SIGTERM; log:\n%s", err, p.log.String())
	}
}

// kill sends SIGKILL: no drain, no clean close of the database.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(30 * time.Second):
	}
}
