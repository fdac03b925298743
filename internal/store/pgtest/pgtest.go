// Package pgtest gives tests a real PostgreSQL database of their own.
//
// With GATEWAY_TEST_DATABASE_URL set (a postgres:// URL of a role that may
// CREATE DATABASE), that server is used. Otherwise the first test that
// asks starts a throwaway cluster from the PostgreSQL binaries on this
// machine (initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin;
// as root it runs them as the postgres user) on a free loopback port.
// When neither works the test is skipped, saying how to enable it.
//
// A package using NewDatabase calls Main from its TestMain, so the
// throwaway server stops when the package's tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable holding an existing server's URL.
const EnvURL = "GATEWAY_TEST_DATABASE_URL"

const howTo = "set " + EnvURL + "=postgres://USER:PASSWORD@HOST:PORT/postgres (a role allowed to CREATE DATABASE), " +
	"or install PostgreSQL (Debian: apt-get install postgresql) so the tests can start a throwaway server"

var (
	mainCalled bool
	once       sync.Once
	admin      string // URL of the maintenance database
	skipReason string // set when no server is available
	setupErr   error  // set when the configured server is unusable
	cluster    *server
)

// Main runs the package's tests and stops the throwaway server, if one
// was started, before exiting.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has more to check after the tests
// (such as leaked goroutines): it runs them, stops the throwaway server
// and returns the exit code.
func Run(m *testing.M) int {
	mainCalled = true
	code := m.Run()
	if cluster != nil {
		cluster.stop()
	}
	return code
}

// NewDatabase creates an empty database for t and returns its URL. The
// database is dropped when t ends. t is skipped when no PostgreSQL server
// can be had; it fails when GATEWAY_TEST_DATABASE_URL is set but unusable.
func NewDatabase(t testing.TB) string {
	t.Helper()
	configured := os.Getenv(EnvURL) != ""
	if !configured && !mainCalled {
		t.Fatal("pgtest: call pgtest.Main from TestMain so the throwaway PostgreSQL server is stopped")
	}
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("pgtest: %v", setupErr)
	}
	if skipReason != "" {
		t.Skipf("no PostgreSQL server: %s; %s", skipReason, howTo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: connecting to the test server: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "gwtest_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: CREATE DATABASE: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: dropping %s: %v", name, err)
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func setup() {
	if v := os.Getenv(EnvURL); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			// Fails every test rather than skipping: it was asked for.
			setupErr = fmt.Errorf("%s must be a postgres:// URL", EnvURL)
			return
		}
		admin = v
		return
	}
	s, err := start()
	if err != nil {
		skipReason = err.Error()
		return
	}
	cluster = s
	admin = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// server is a throwaway cluster in a temporary directory.
type server struct {
	dir, data, bin string
	port           int
	asPostgres     bool
	watchdog       *exec.Cmd
}

// binDir finds the directory with initdb and pg_ctl, newest version first.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found on PATH or under /usr/lib/postgresql/*/bin")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func start() (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, asPostgres: os.Geteuid() == 0}
	s.dir, err = os.MkdirTemp("", "gateway-pgtest-")
	if err != nil {
		return nil, err
	}
	s.data = filepath.Join(s.dir, "data")
	if s.asPostgres {
		// PostgreSQL refuses to run as root: the cluster belongs to the
		// postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			_ = os.RemoveAll(s.dir)
			return nil, errors.New("running as root and there is no postgres user to run the server")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.dir, uid, gid); err != nil {
			_ = os.RemoveAll(s.dir)
			return nil, err
		}
	}
	if out, err := s.run("initdb", "-D", s.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, lastLines(out))
	}
	// The port is free when chosen but may be taken by the time the
	// server binds it: try a few.
	var lastErr error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			lastErr = err
			continue
		}
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", s.port, s.dir)
		out, err := s.run("pg_ctl", "-D", s.data, "-l", filepath.Join(s.dir, "log"), "-o", opts, "-w", "-t", "60", "start")
		if err == nil {
			s.startWatchdog()
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		lastErr = fmt.Errorf("pg_ctl start: %v: %s %s", err, lastLines(out), lastLines(log))
	}
	_ = os.RemoveAll(s.dir)
	return nil, lastErr
}

// run runs a PostgreSQL program, as the postgres user when we are root.
func (s *server) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	if s.asPostgres {
		argv := append([]string{filepath.Join(s.bin, prog)}, args...)
		if _, err := exec.LookPath("runuser"); err == nil {
			cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--"}, argv...)...)
		} else {
			quoted := make([]string, len(argv))
			for i, a := range argv {
				quoted[i] = shellQuote(a)
			}
			cmd = exec.Command("su", "postgres", "-s", "/bin/sh", "-c", strings.Join(quoted, " "))
		}
	}
	cmd.Dir = s.dir
	return cmd.CombinedOutput()
}

// startWatchdog stops the server should this process die without running
// Main's cleanup (a panic, a kill): a detached shell polls for our pid.
func (s *server) startWatchdog() {
	stop := shellQuote(filepath.Join(s.bin, "pg_ctl")) + " -D " + shellQuote(s.data) + " -m immediate stop"
	if s.asPostgres {
		stop = "runuser -u postgres -- " + stop
	}
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s >/dev/null 2>&1; rm -rf %s",
		os.Getpid(), stop, shellQuote(s.dir))
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cmd.Start() == nil {
		s.watchdog = cmd
	}
}

func (s *server) stop() {
	_, _ = s.run("pg_ctl", "-D", s.data, "-m", "fast", "-w", "stop")
	if s.watchdog != nil {
		_ = s.watchdog.Process.Kill()
		_ = s.watchdog.Wait()
	}
	_ = os.RemoveAll(s.dir)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
