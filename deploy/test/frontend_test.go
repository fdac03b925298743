package test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The flow's fixed points: the dev simulators' seed (internal/upstream/simseed)
// has an organization "Contoso AB" that GDAP, Crayon and DBSync all know.
const (
	frontendPageSize = 50
	frontendSearch   = "contoso"
	frontendOpen     = "Contoso AB"
	frontendSyncKind = "axema_users"
)

// frontendSections are the 360 view's sections the page loads one by one.
var frontendSections = []string{"gdap", "tenants", "agreements", "licenses", "subscriptions", "gdap_relationships", "booking_records"}

// TestFrontendFlow is issue 15's "done when": a page served on another
// origin (frontend/index.html + app.js) lists customers ("1–50 of N"),
// pages, sorts, searches, opens a 360 view section by section, registers a
// licence and starts and polls a sync, in headless Chromium, straight
// against a `gateway -dev` process (simulated vendors, dev OIDC issuer),
// with no proxy. The same page from an origin the gateway does not allow
// gets nothing.
//
//	cd deploy/test && NODE_PATH=<dir>/node_modules go test -count=1 -run TestFrontendFlow -v .
//
// NODE_PATH points at an npm install of playwright-core@1.65.1; chromium
// comes from apt (/usr/bin/chromium, or CHROMIUM_PATH). deploy/ci.sh runs it.
func TestFrontendFlow(t *testing.T) {
	node, chromium := frontendTools(t)
	ctx, cancel := context.WithTimeout(t.Context(), 9*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// The page's own server: static files only, on its own origin. Anything
	// else it is asked for (an /v1 call through it would be a proxy) is
	// recorded and refused.
	pageLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pageLn.Addr().(*net.TCPAddr).Port
	pageOrigin := fmt.Sprintf("http://localhost:%d", port)    // allowed by the gateway
	blockedOrigin := fmt.Sprintf("http://127.0.0.1:%d", port) // the same page, not allowed
	var pageMu sync.Mutex
	var pageOther []string
	pageSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/", "/index.html":
			http.ServeFile(w, r, filepath.Join("frontend", "index.html"))
		case "/app.js":
			http.ServeFile(w, r, filepath.Join("frontend", "app.js"))
		case "/favicon.ico":
			http.NotFound(w, r)
		default:
			pageMu.Lock()
			pageOther = append(pageOther, r.Method+" "+r.URL.Path)
			pageMu.Unlock()
			http.NotFound(w, r)
		}
	})}
	go func() { _ = pageSrv.Serve(pageLn) }()
	t.Cleanup(func() { _ = pageSrv.Close() })

	gw := startDevGateway(ctx, t, dir, map[string]string{"GATEWAY_CORS_ORIGINS": pageOrigin})
	token := devToken(ctx, t, gw.issuer, "dev-operator")

	// What the page should show, read straight from the API (no Origin).
	var names []string
	var openID string
	for pageToken := ""; ; {
		var list struct {
			Items []struct {
				ID, Name string
			}
			NextPageToken string `json:"next_page_token"`
		}
		q := url.Values{"page_size": {"100"}}
		if pageToken != "" {
			q.Set("page_token", pageToken)
		}
		getJSON(ctx, t, gw.url+"/v1/customers?"+q.Encode(), token, &list)
		for _, c := range list.Items {
			names = append(names, c.Name)
			if c.Name == frontendOpen {
				openID = c.ID
			}
		}
		if pageToken = list.NextPageToken; pageToken == "" {
			break
		}
	}
	total := len(names)
	if total <= frontendPageSize || openID == "" {
		t.Fatalf("the dev seed has %d customers (need more than %d) and %q has id %q", total, frontendPageSize, frontendOpen, openID)
	}
	var licences struct {
		Items []struct{ User string }
	}
	getJSON(ctx, t, gw.url+"/v1/licenses?company="+url.QueryEscape(frontendOpen), token, &licences)
	user := fmt.Sprintf("frontend.check.%d@contoso.example", time.Now().UnixNano()%1e9)

	// Drive the page.
	hash := "#" + url.Values{"api": {gw.url}, "token": {token}}.Encode()
	args, _ := json.Marshal(map[string]string{
		"page": pageOrigin + "/" + hash, "blocked": blockedOrigin + "/" + hash,
		"search": frontendSearch, "open": frontendOpen, "user": user,
	})
	script, _ := filepath.Abs(filepath.Join("frontend", "drive.cjs"))
	cmd := exec.CommandContext(ctx, node, script, string(args))
	cmd.Env = append(os.Environ(), "CHROMIUM_PATH="+chromium)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 10 * time.Second
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser script: %v\n%s", err, raw)
	}
	var got frontendRun
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("browser script output: %v\n%s", err, raw)
	}
	for _, p := range got.Problems {
		t.Errorf("in the browser: %s", p)
	}
	for _, c := range got.Console {
		t.Errorf("browser console: %s", c)
	}
	if got.Steps.ErrorsShown != "" {
		t.Errorf("the page showed errors: %s", got.Steps.ErrorsShown)
	}

	// The list: "1–50 of N", a page forward and back, sorted the other way.
	first := fmt.Sprintf("1–%d of %d", frontendPageSize, total)
	checkList(t, "first page", got.Steps.FirstPage, first, names[:frontendPageSize])
	second := min(total, 2*frontendPageSize)
	checkList(t, "next page", got.Steps.NextPage, fmt.Sprintf("%d–%d of %d", frontendPageSize+1, second, total), names[frontendPageSize:second])
	checkList(t, "previous page", got.Steps.PreviousPage, first, names[:frontendPageSize])
	if got.Steps.FirstPage.RequestID == "" {
		t.Error("the page could not read X-Request-Id (not exposed to the origin?)")
	}
	desc := slices.Clone(names[total-frontendPageSize:])
	slices.Reverse(desc)
	if s := got.Steps.SortedDesc; s.Range != first || len(s.Names) != frontendPageSize || s.Names[0] != desc[0] ||
		!sameMultiset(s.Names, desc) {
		t.Errorf("sorted by name desc: the page shows %q, first %q; want %q, the last %d names of the default (ascending) order, first %q",
			s.Range, firstOf(s.Names), first, frontendPageSize, desc[0])
	}
	if s := got.Steps.Search; !slices.Contains(s.Names, frontendOpen) || !strings.HasSuffix(s.Range, fmt.Sprintf(" of %d", len(s.Names))) {
		t.Errorf("search %q: the page shows %q, %q", frontendSearch, s.Range, s.Names)
	}

	// The 360 view, each section loaded on its own.
	v := got.Steps.View
	if v.ID != openID || v.Kind != "organization" {
		t.Errorf("the 360 view is of %q (kind %q), want %q (kind organization)", v.ID, v.Kind, openID)
	}
	shown := map[string]frontendSection{}
	for _, s := range v.Sections {
		shown[s.Section] = s
	}
	for _, name := range frontendSections {
		s, ok := shown[name]
		switch {
		case !ok:
			t.Errorf("section %s: not shown", name)
			continue
		case s.State != "loaded":
			t.Errorf("section %s: %s: %s", name, s.State, s.Text)
			continue
		case s.Status != "ok" && s.Status != "not_applicable":
			t.Errorf("section %s: status %q, want ok (the simulators are healthy)", name, s.Status)
		case s.Unrequested != "":
			t.Errorf("section %s: ?include=%s also returned %s", name, name, s.Unrequested)
		case s.CustomerID != openID:
			t.Errorf("section %s: the answer's customer is %q, want %q", name, s.CustomerID, openID)
		}
		if at, err := time.Parse(time.RFC3339, s.AsOf); err != nil || at.Before(gw.started.Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("section %s: as_of %q, want an RFC 3339 time since the gateway started (%s)", name, s.AsOf, gw.started.Format(time.RFC3339))
		}
	}
	if s := shown["licenses"]; s.State == "loaded" && s.Count != len(licences.Items) {
		t.Errorf("licenses section before registering: %d users, the API lists %d for %q", s.Count, len(licences.Items), frontendOpen)
	}
	var includeCalls int
	for _, r := range got.Requests {
		if strings.HasPrefix(r.URL, gw.url+"/v1/customers/") {
			u, _ := url.Parse(r.URL)
			if inc := u.Query().Get("include"); !slices.Contains(frontendSections, inc) {
				t.Errorf("360 request %s: want exactly one section in include=", r.URL)
			}
			includeCalls++
		}
	}
	if includeCalls < len(frontendSections) {
		t.Errorf("the page made %d 360 requests, want one per section (%d)", includeCalls, len(frontendSections))
	}

	// The licence: registered, addressable by its id, and shown in the view.
	l := got.Steps.Licence
	if l.ID == "" || l.Location != "/v1/licenses/"+l.ID || !strings.Contains(l.Text, user) {
		t.Errorf("register licence: the page shows %q, id %q, Location %q (want /v1/licenses/<id>), error %q", l.Text, l.ID, l.Location, l.Error)
	}
	if s := l.LicensesSection; s.State != "loaded" || s.Count != len(licences.Items)+1 || !strings.Contains(s.Text, user) {
		t.Errorf("licenses section after registering: %s, %d users, want %d including %s: %s", s.State, s.Count, len(licences.Items)+1, user, s.Text)
	}

	// The sync: started, polled to its end.
	sj := got.Steps.Sync
	if sj.Final != "succeeded" || sj.Kind != frontendSyncKind || sj.Location != "/v1/sync-jobs/"+sj.ID {
		t.Errorf("sync: the page shows %q (kind %q, states %q, final %q, Location %q)", sj.Text, sj.Kind, sj.States, sj.Final, sj.Location)
	}
	if states := strings.Split(sj.States, ","); sj.Final == "succeeded" && (len(states) < 2 || states[0] == "succeeded") {
		t.Errorf("sync: the page saw states %q; want the job polled from pending or running to succeeded", sj.States)
	}
	if sj.ID != "" {
		var job struct{ State, Kind string }
		getJSON(ctx, t, gw.url+"/v1/sync-jobs/"+sj.ID, token, &job)
		if job.State != "succeeded" || job.Kind != frontendSyncKind {
			t.Errorf("sync job %s as the API reports it: %+v", sj.ID, job)
		}
	}

	// No proxy: every API call went from the page straight to the gateway,
	// with the token and the page's origin; the page's server served files only.
	calls := 0
	for _, r := range got.Requests {
		switch {
		case strings.HasPrefix(r.URL, gw.url+"/"):
			calls++
			if !r.Authorization || r.Origin != pageOrigin {
				t.Errorf("%s %s: Authorization sent %v, Origin %q; want a bearer token and %s", r.Method, r.URL, r.Authorization, r.Origin, pageOrigin)
			}
		case strings.HasPrefix(r.URL, pageOrigin+"/"):
		default:
			t.Errorf("the page requested %s, neither its own origin nor the gateway", r.URL)
		}
	}
	if calls == 0 {
		t.Error("the page made no call to the gateway")
	}
	pageMu.Lock()
	if len(pageOther) > 0 {
		t.Errorf("the page's own server was asked for %v: the page must call the gateway directly", pageOther)
	}
	pageMu.Unlock()

	// Real preflights, answered without a token, as the gateway logged them.
	preflights := gw.preflights(t)
	for _, route := range []string{"/v1/customers", "/v1/customers/{id}", "/v1/licenses", "/v1/sync-jobs"} {
		if preflights[route+" 204"] == 0 {
			t.Errorf("no successful preflight (OPTIONS 204) for %s in the gateway's log; seen: %v", route, preflights)
		}
	}

	// The other origin: the gateway refuses its preflight, the browser keeps
	// the answers from the page.
	if b := got.Steps.BlockedOrigin; b.Rows != 0 || !strings.Contains(b.Error, "network") {
		t.Errorf("page on %s (not in GATEWAY_CORS_ORIGINS): %d rows, error %q; want no rows and a network error", blockedOrigin, b.Rows, b.Error)
	}
	if preflights["/v1/customers 403"] == 0 {
		t.Errorf("no refused preflight (OPTIONS 403) for the blocked origin in the gateway's log; seen: %v", preflights)
	}
}

// frontendRun is what drive.cjs prints.
type frontendRun struct {
	Problems []string
	Console  []string
	Requests []struct {
		Method, URL, Origin string
		Authorization       bool
	}
	Steps struct {
		FirstPage    frontendList `json:"first_page"`
		NextPage     frontendList `json:"next_page"`
		PreviousPage frontendList `json:"previous_page"`
		SortedDesc   frontendList `json:"sorted_desc"`
		Search       frontendList
		View         struct {
			ID, Kind string
			Sections []frontendSection
		}
		Licence struct {
			Text, ID, Location, Error string
			LicensesSection           frontendSection `json:"licenses_section"`
		}
		Sync struct {
			Text, ID, Location, Kind, States, Final string
		}
		ErrorsShown   string `json:"errors_shown"`
		BlockedOrigin struct {
			Error string
			Rows  int
		} `json:"blocked_origin"`
	}
}

type frontendList struct {
	Range     string
	Names     []string
	RequestID string `json:"request_id"`
	Error     string
}

type frontendSection struct {
	Section, State, Status, Text, Unrequested string
	AsOf                                      string `json:"as_of"`
	Count                                     int
	CustomerID                                string `json:"customer_id"`
	CustomerKind                              string `json:"customer_kind"`
}

func checkList(t *testing.T, what string, got frontendList, wantRange string, wantNames []string) {
	t.Helper()
	if got.Range != wantRange || !slices.Equal(got.Names, wantNames) {
		t.Errorf("%s: the page shows %q, names %s…; want %q, names %s…", what, got.Range, firstOf(got.Names), wantRange, firstOf(wantNames))
	}
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return s[0]
}

func sameMultiset(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// frontendTools finds node, chromium and playwright-core (via NODE_PATH), or
// skips; under GATEWAY_REQUIRE_TOOLS (deploy/ci.sh) a missing tool fails.
func frontendTools(t *testing.T) (node, chromium string) {
	t.Helper()
	node, err := exec.LookPath("node")
	chromium = os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	_, chromiumErr := os.Stat(chromium)
	_, goErr := exec.LookPath("go")
	if err != nil || chromiumErr != nil || goErr != nil || os.Getenv("NODE_PATH") == "" {
		if os.Getenv("GATEWAY_REQUIRE_TOOLS") != "" {
			t.Fatal("GATEWAY_REQUIRE_TOOLS is set but the frontend check lacks go, node, chromium or NODE_PATH with playwright-core")
		}
		t.Skip("needs go, node, chromium (apt) and NODE_PATH pointing at an npm install of playwright-core@1.65.1")
	}
	return node, chromium
}

// devGateway is a `gateway -dev` process: the gateway with its vendor
// simulators and dev OIDC issuer, as a frontend developer runs it.
type devGateway struct {
	url, issuer string
	started     time.Time
	mu          sync.Mutex
	log         bytes.Buffer // stderr: the JSON access log
}

func (g *devGateway) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.log.Write(p)
}

// preflights counts the logged OPTIONS answers by "route status".
func (g *devGateway) preflights(t *testing.T) map[string]int {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	n := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(g.log.Bytes()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var e struct {
			Msg, Method, Path string
			Status            int
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Msg != "request" || e.Method != http.MethodOptions {
			continue
		}
		// A preflight matches no route (route "unmatched"): name it by its path.
		route := e.Path
		if rest, ok := strings.CutPrefix(route, "/v1/customers/"); ok && rest != "" {
			route = "/v1/customers/{id}"
		}
		n[fmt.Sprintf("%s %d", route, e.Status)]++
	}
	return n
}

// startDevGateway builds cmd/gateway (with -race) from this repository and
// runs it with -dev on a free loopback port, with its own database; env is
// added to the process's environment. It is stopped (SIGTERM, then killed)
// at cleanup, and must then exit cleanly, with no data race reported.
func startDevGateway(ctx context.Context, t *testing.T, dir string, env map[string]string) *devGateway {
	t.Helper()
	bin := filepath.Join(dir, "gateway")
	// -race: the race detector watches the flow, and CI's main test pass
	// (go test -race ./...) has already compiled every package this way.
	build := exec.CommandContext(ctx, "go", "build", "-race", "-o", bin, "./cmd/gateway")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gateway: %v\n%s", err, out)
	}
	gw := &devGateway{started: time.Now()}
	cmd := exec.Command(bin, "-dev")
	cmd.Env = append(os.Environ(),
		"GATEWAY_ADDR=127.0.0.1:0",
		"GATEWAY_DATABASE_URL=sqlite:"+filepath.Join(dir, "gateway.db"),
		"XDG_CACHE_HOME="+dir)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = gw
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			gw.mu.Lock()
			race := bytes.Contains(gw.log.Bytes(), []byte("DATA RACE"))
			gw.mu.Unlock()
			if err != nil || race {
				t.Errorf("the gateway exited with %v after SIGTERM (data race reported: %v)", err, race)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("the gateway did not stop within 20 s of SIGTERM")
		}
		if t.Failed() {
			gw.mu.Lock()
			t.Logf("gateway log (last 4 KiB):\n%s", tail(gw.log.Bytes(), 4096))
			gw.mu.Unlock()
		}
	})

	// The banner names the gateway and the issuer; it ends with "Contract:".
	gwRe := regexp.MustCompile(`dev mode on (http://[0-9.:]+)`)
	issRe := regexp.MustCompile(`(http://[0-9.:]+)/token\b`)
	banner := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := gwRe.FindStringSubmatch(line); m != nil {
				gw.url = m[1]
			}
			if m := issRe.FindStringSubmatch(line); m != nil {
				gw.issuer = m[1]
			}
			if strings.HasPrefix(strings.TrimSpace(line), "Contract:") {
				banner <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		banner <- fmt.Errorf("the gateway's output ended before its banner: %v", sc.Err())
	}()
	select {
	case err := <-banner:
		if err != nil || gw.url == "" || gw.issuer == "" {
			t.Fatalf("gateway -dev: %v (gateway %q, issuer %q)", err, gw.url, gw.issuer) // the cleanup logs its output
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("gateway -dev printed no banner within 2 minutes")
	}
	return gw
}

// devToken gets a token for one of the dev issuer's clients
// (client-credentials grant, secret "<client>-secret").
func devToken(ctx context.Context, t *testing.T, issuer, client string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, client+"-secret")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	do(t, req, &tok)
	if tok.AccessToken == "" {
		t.Fatalf("no access token from %s for %s", issuer, client)
	}
	return tok.AccessToken
}

func getJSON(ctx context.Context, t *testing.T, u, token string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	do(t, req, v)
}

func do(t *testing.T, req *http.Request, v any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
