package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/partnerhub/gateway/internal/store/pgtest"
	"github.com/partnerhub/gateway/internal/upstream/bokamera/bokamerasim"
	"github.com/partnerhub/gateway/internal/upstream/dbsync/dbsyncsim"
	"github.com/partnerhub/gateway/internal/upstream/simtest"
)

// registerPath is where DBSync receives registrations.
const registerPath = dbsyncsim.BasePath + "registerUser"

// databases are the engines every durability test runs on.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"embedded": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "gateway.db") },
		"postgres": func(t *testing.T) string { return pgtest.NewDatabase(t) },
	}
}

// TestRestartLosesNothing starts the gateway as a real process, writes,
// kills it with SIGKILL, starts it again on the same database, writes
// more, stops it with SIGTERM, and starts it a third time: jobs, stored
// answers and the audit trail are all still there, and job polling goes on.
func TestRestartLosesNothing(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			sims := newVendorSims(t)
			// Slow enough that the job is still active across the kill.
			boka, bokaURL := simtest.BokaMera(t, bokamerasim.Options{SyncStepDuration: 400 * time.Millisecond})
			env := sims.Env("GATEWAY_DATABASE_URL", newDB(t),
				"GATEWAY_BOKAMERA_BASE_URL", bokaURL, "GATEWAY_BOKAMERA_TOKEN_URL", bokamerasim.TokenURL(bokaURL))
			opToken := fetchToken(t, sims.Issuer.URL(), "dev-operator")
			adminToken := fetchToken(t, sims.Issuer.URL(), "dev-admin")
			license := `{"company":"Restart Co","user":"r1@restart.example"}`

			p1 := startProcess(t, env)
			op := newClient(t, p1.URL, opToken)
			started := op.do("POST", syncJobsURL, axemaStart, "Idempotency-Key", "job-1")
			if started.Status != 202 {
				t.Fatalf("start: %d %s", started.Status, started.Body)
			}
			var job syncJob
			started.JSON(t, &job)
			registered := op.do("POST", "/v1/licenses", license, "Idempotency-Key", "lic-1")
			if registered.Status != 201 {
				t.Fatalf("register: %d %s", registered.Status, registered.Body)
			}
			p1.kill() // SIGKILL: no drain, no clean close

			p2 := startProcess(t, env)
			op = newClient(t, p2.URL, opToken)
			// The stored answers replay; the vendors are not called again.
			if r := op.do("POST", "/v1/licenses", license, "Idempotency-Key", "lic-1"); r.Status != 201 ||
				r.Header.Get("Idempotent-Replayed") != "true" || string(r.Body) != string(registered.Body) {
				t.Fatalf("replay after SIGKILL: %d %q %s", r.Status, r.Header.Get("Idempotent-Replayed"), r.Body)
			}
			if r := op.do("POST", syncJobsURL, axemaStart, "Idempotency-Key", "job-1"); r.Status != 202 || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("job replay after SIGKILL: %d %s", r.Status, r.Body)
			}
			if n := sims.DBSync.Faults.Calls("POST", registerPath); n != 1 {
				t.Fatalf("DBSync got %d registrations, want 1", n)
			}
			if n := boka.Faults.Calls("POST", axemaPath); n != 1 {
				t.Fatalf("BokaMera got %d sync starts, want 1", n)
			}
			// The job survived and polling continues to the end.
			done := waitForState(t, op, syncJobsURL+"/"+job.ID, "succeeded")
			if done.VendorJobID != job.VendorJobID || done.UsersFound == nil {
				t.Fatalf("job after restart: %+v (started as %+v)", done, job)
			}
			if r := op.do("POST", "/v1/licenses", `{"company":"Restart Co","user":"r2@restart.example"}`, "Idempotency-Key", "lic-2"); r.Status != 201 {
				t.Fatalf("second register: %d %s", r.Status, r.Body)
			}
			p2.terminate(t) // SIGTERM: drain and close

			p3 := startProcess(t, env)
			admin := newClient(t, p3.URL, adminToken)
			events := listAudit(t, admin, "")
			var got []string
			for _, e := range events.Items {
				got = append(got, e.Operation+"="+e.Outcome)
			}
			want := "sync_jobs.start=succeeded,licenses.register=succeeded,licenses.register=succeeded"
			if strings.Join(got, ",") != want {
				t.Fatalf("audit after two restarts: %v, want %s", got, want)
			}
			var jobs syncJobList
			admin.do("GET", syncJobsURL, "").JSON(t, &jobs)
			if len(jobs.Items) != 1 || jobs.Items[0].ID != job.ID || jobs.Items[0].State != "succeeded" {
				t.Fatalf("jobs after two restarts: %+v", jobs.Items)
			}
			p3.terminate(t)
		})
	}
}

// TestTwoReplicasShareOneDatabase runs two gateway processes on one
// PostgreSQL database: the same Idempotency-Key sent to both at once
// reaches the vendor once, and only one sync per company runs across both.
func TestTwoReplicasShareOneDatabase(t *testing.T) {
	sims := newVendorSims(t)
	boka, bokaURL := simtest.BokaMera(t, bokamerasim.Options{SyncStepDuration: time.Minute})
	env := sims.Env("GATEWAY_DATABASE_URL", pgtest.NewDatabase(t),
		"GATEWAY_BOKAMERA_BASE_URL", bokaURL, "GATEWAY_BOKAMERA_TOKEN_URL", bokamerasim.TokenURL(bokaURL))
	token := fetchToken(t, sims.Issuer.URL(), "dev-operator")
	replicas := []*process{startProcess(t, env), startProcess(t, env)}

	const rounds = 5
	for i := range rounds {
		key := fmt.Sprintf("twin-%d", i)
		body := fmt.Sprintf(`{"company":"Twin Co","user":"u%d@twin.example"}`, i)
		statuses := sendTogether(t, token, "POST", "/v1/licenses", body, key, replicas)
		// One replica ran the write; the other replayed it or saw it in
		// flight (409). Never two registrations.
		ok := statuses[0] == 201 && (statuses[1] == 201 || statuses[1] == 409) ||
			statuses[1] == 201 && (statuses[0] == 201 || statuses[0] == 409)
		if !ok {
			t.Fatalf("round %d: statuses %v", i, statuses)
		}
	}
	if n := sims.DBSync.Faults.Calls("POST", registerPath); n != rounds {
		t.Fatalf("DBSync got %d registrations for %d keys", n, rounds)
	}

	// Different keys, same company, both replicas at once: one sync.
	statuses := [2]int{}
	var wg sync.WaitGroup
	for i, p := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = rawDo(t, token, "POST", p.URL+syncJobsURL, axemaStart, fmt.Sprintf("sync-%d", i))
		}()
	}
	wg.Wait()
	if (statuses[0] != 202 || statuses[1] != 409) && (statuses[0] != 409 || statuses[1] != 202) {
		t.Fatalf("concurrent syncs on two replicas: %v", statuses)
	}
	if n := boka.Faults.Calls("POST", axemaPath); n != 1 {
		t.Fatalf("BokaMera got %d sync starts, want 1", n)
	}
}

// sendTogether sends the same write with the same key to every replica at
// the same moment and returns the statuses.
func sendTogether(t *testing.T, token, method, path, body, key string, replicas []*process) []int {
	t.Helper()
	statuses := make([]int, len(replicas))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = rawDo(t, token, method, p.URL+path, body, key)
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

// rawDo is a request safe to send from any goroutine: it reports failures
// with t.Error and returns 0.
func rawDo(t *testing.T, token, method, u, body, key string) int {
	r, err := send(http.DefaultClient, method, u, token, strings.NewReader(body), "Content-Type", "application/json", "Idempotency-Key", key)
	if err != nil {
		t.Error(err)
		return 0
	}
	return r.Status
}

// TestDatabaseDown: with PostgreSQL refusing connections, reads keep
// working, writes are refused with 503 and never reach the vendor, and
// everything recovers when the database comes back.
func TestDatabaseDown(t *testing.T) {
	sims := newVendorSims(t)
	dbURL := pgtest.NewDatabase(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_DATABASE_URL", dbURL))
	op := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-operator"))
	admin := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-admin"))
	if r := op.do("POST", "/v1/licenses", `{"company":"Down Co","user":"before@down.example"}`); r.Status != 201 {
		t.Fatalf("register before: %d %s", r.Status, r.Body)
	}

	setConnections(t, dbURL, false)
	if r := op.do("GET", "/v1/customers", ""); r.Status != 200 {
		t.Fatalf("a read needing no database failed: %d %s", r.Status, r.Body)
	}
	calls := sims.DBSync.Faults.Calls("POST", registerPath)
	for _, key := range []string{"", "down-key"} {
		var headers []string
		if key != "" {
			headers = []string{"Idempotency-Key", key}
		}
		r := op.do("POST", "/v1/licenses", `{"company":"Down Co","user":"during@down.example"}`, headers...)
		if p := expectProblem(t, r, 503); r.Header.Get("Retry-After") == "" || !strings.Contains(p.Detail, "not sent") {
			t.Fatalf("write with the database down (key %q): %+v, Retry-After %q", key, p, r.Header.Get("Retry-After"))
		}
	}
	expectProblem(t, op.do("POST", syncJobsURL, axemaStart), 503)
	expectProblem(t, admin.do("GET", "/v1/audit-events", ""), 503)
	if n := sims.DBSync.Faults.Calls("POST", registerPath); n != calls {
		t.Fatalf("a write reached DBSync without its audit record (%d calls, want %d)", n, calls)
	}

	setConnections(t, dbURL, true)
	if r := op.do("POST", "/v1/licenses", `{"company":"Down Co","user":"during@down.example"}`, "Idempotency-Key", "down-key"); r.Status != 201 {
		t.Fatalf("register after recovery: %d %s", r.Status, r.Body)
	}
	if l := listAudit(t, admin, ""); len(l.Items) != 2 {
		t.Fatalf("audit after recovery: %+v", l.Items)
	}
}

// setConnections makes the test database refuse (or accept again) every
// connection, dropping the open ones: PostgreSQL down, as the gateway sees
// it.
func setConnections(t *testing.T, dbURL string, allow bool) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t", pgx.Identifier{name}.Sanitize(), allow)); err != nil {
		t.Fatal(err)
	}
	if !allow {
		if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
			t.Fatal(err)
		}
	}
}
