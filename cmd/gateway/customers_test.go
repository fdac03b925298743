package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partnerhub/gateway/internal/devoidc"
	"github.com/partnerhub/gateway/internal/upstream/simfault"
	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

func TestListCustomersMergesAllVendors(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")

	r := specDo(t, gw.URL, "GET", "/v1/customers?page_size=200", token)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id on the answer")
	}
	var list customerList
	r.JSON(t, &list)
	if !list.Complete {
		t.Errorf("complete = false with every simulator healthy; sources %+v", list.Sources)
	}
	for _, v := range []string{"gdap", "crayon", "bokamera"} {
		if st, _ := list.source(v); st != "ok" {
			t.Errorf("source %s status = %q, want ok", v, st)
		}
	}

	byTenant := map[string][]string{}
	for _, c := range list.Items {
		if c.MicrosoftTenantID == "" {
			continue
		}
		if _, dup := byTenant[c.MicrosoftTenantID]; dup {
			t.Errorf("tenant %s appears twice", c.MicrosoftTenantID)
		}
		for _, ref := range c.References {
			byTenant[c.MicrosoftTenantID] = append(byTenant[c.MicrosoftTenantID], ref.Vendor)
		}
		if c.ID != "ms-"+c.MicrosoftTenantID {
			t.Errorf("customer %q id = %q, want ms-<tenant>", c.Name, c.ID)
		}
	}
	for _, org := range simseed.Orgs {
		vendors := byTenant[org.TenantID]
		slices.Sort(vendors)
		var want []string
		if org.InCrayon && !org.Removed {
			want = append(want, "crayon")
		}
		if org.InGDAP {
			want = append(want, "gdap")
		}
		if !slices.Equal(vendors, want) {
			t.Errorf("%s: merged references %v, want %v", org.Name, vendors, want)
		}
	}
	// Booking-system people are listed as their own customers.
	found := false
	for _, c := range list.Items {
		if c.Name == "Olle Holm" && len(c.References) == 1 && c.References[0].Vendor == "bokamera" {
			found = true
		}
	}
	if !found {
		t.Error("BokaMera customer Olle Holm missing")
	}
	if !slices.IsSortedFunc(list.Items, func(a, b customerItem) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}) {
		t.Error("items are not sorted by name")
	}
}

func TestListCustomersPagesThroughEverything(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")

	var all customerList
	specDo(t, gw.URL, "GET", "/v1/customers?page_size=200&q=a", token).JSON(t, &all)
	if len(all.Items) < 10 {
		t.Fatalf("only %d customers match q=a; the seed should give many", len(all.Items))
	}
	var ids []string
	next := "/v1/customers?page_size=7&q=a"
	for pages := 0; next != ""; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		var page customerList
		r := specDo(t, gw.URL, "GET", next, token)
		if r.Status != 200 {
			t.Fatalf("page %d: status %d %s", pages, r.Status, r.Body)
		}
		r.JSON(t, &page)
		if len(page.Items) > 7 {
			t.Fatalf("page of %d items with page_size=7", len(page.Items))
		}
		for _, c := range page.Items {
			ids = append(ids, c.ID)
		}
		next = ""
		if page.NextPageToken != "" {
			next = "/v1/customers?page_size=7&q=a&page_token=" + url.QueryEscape(page.NextPageToken)
		}
	}
	if len(ids) != len(all.Items) {
		t.Fatalf("paged %d customers, unpaged %d", len(ids), len(all.Items))
	}
	for i, c := range all.Items {
		if ids[i] != c.ID {
			t.Fatalf("item %d: paged %s, unpaged %s", i, ids[i], c.ID)
		}
	}
}

func TestAuthentication(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	iss := sims.Issuer.URL()
	now := time.Now()
	claims := func(over map[string]any) map[string]any {
		c := map[string]any{"iss": iss, "aud": testAudience, "sub": "tester", "iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "roles": []string{"reader"}}
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	sign := func(c map[string]any) string {
		tok, err := sims.Issuer.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	unknownKey, _ := devoidc.SignWith(otherKey, "dev-1", claims(nil))
	// alg "none": a valid-looking token with no signature.
	enc := base64.RawURLEncoding.EncodeToString
	algNone := enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(`{"iss":"`+iss+`","aud":"`+testAudience+`","sub":"x","exp":`+
		"9999999999"+`,"roles":["admin"]}`)) + "."

	unauthorized := []struct{ name, header string }{
		{"no token", ""},
		{"not bearer", "Basic dXNlcjpwYXNz"},
		{"empty bearer", "Bearer "},
		{"malformed token", "Bearer not.a.jwt"},
		{"expired", "Bearer " + sign(claims(map[string]any{"exp": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Hour).Unix()}))},
		{"wrong audience", "Bearer " + sign(claims(map[string]any{"aud": "someone-else"}))},
		{"wrong issuer", "Bearer " + sign(claims(map[string]any{"iss": "https://evil.example"}))},
		{"unknown key", "Bearer " + unknownKey},
		{"alg none", "Bearer " + algNone},
	}
	for _, tc := range unauthorized {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.header != "" {
				hdr = []string{"Authorization", tc.header}
			}
			r := specDo(t, gw.URL, "GET", "/v1/customers", "", hdr...)
			expectProblem(t, r, 401)
			if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
				t.Fatalf("WWW-Authenticate = %q", ch)
			}
		})
	}
	t.Run("no role", func(t *testing.T) {
		r := specDo(t, gw.URL, "GET", "/v1/customers", sign(claims(map[string]any{"roles": []string{"guest"}})))
		p := expectProblem(t, r, 403)
		if !strings.Contains(p.Detail, "customers:read") {
			t.Fatalf("403 does not name the permission: %q", p.Detail)
		}
	})
	t.Run("token never logged", func(t *testing.T) {
		tok := fetchToken(t, iss, "dev-reader")
		specDo(t, gw.URL, "GET", "/v1/customers", tok)
		if strings.Contains(gw.Stderr.String(), tok) || strings.Contains(gw.Stderr.String(), "dev-reader-secret") {
			t.Fatal("a token or secret reached the log")
		}
	})
}

func TestOneVendorFailingGivesPartialAnswer(t *testing.T) {
	faults := map[string]simfault.Fault{
		"500":  {Status: 500},
		"hang": {Hang: true},
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			sims := newVendorSims(t)
			// A short Crayon timeout only where Crayon hangs, under a long
			// request budget: the answer must come from the vendor timeout.
			env := []string{"GATEWAY_REQUEST_TIMEOUT", "30s"}
			if fault.Hang {
				env = append(env, "GATEWAY_CRAYON_TIMEOUT", "400ms")
			}
			gw := startRun(t, nil, sims.Env(env...))
			token := fetchToken(t, sims.Issuer.URL(), "dev-reader")
			sims.Crayon.Faults.Set(fault)

			start := time.Now()
			r := specDo(t, gw.URL, "GET", "/v1/customers?page_size=200", token)
			elapsed := time.Since(start)
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var list customerList
			r.JSON(t, &list)
			want := map[string]string{"500": "error", "hang": "timeout"}[name]
			if st, _ := list.source("crayon"); st != want || list.Complete {
				t.Fatalf("crayon source %q complete=%v, want %q and false", st, list.Complete, want)
			}
			if st, _ := list.source("gdap"); st != "ok" {
				t.Fatalf("gdap source %q, want ok", st)
			}
			if elapsed > 15*time.Second {
				t.Fatalf("answer took %v; the crayon timeout is 400ms, the budget 30s", elapsed)
			}
			for _, c := range list.Items {
				for _, ref := range c.References {
					if ref.Vendor == "crayon" {
						t.Fatalf("crayon data present while crayon failed: %+v", c)
					}
				}
			}
		})
	}
}

func TestBreakerOpensAndSkipsVendor(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env("GATEWAY_BREAKER_MIN_REQUESTS", "3", "GATEWAY_BREAKER_OPEN_FOR", "1m"))
	token := fetchToken(t, sims.Issuer.URL(), "dev-reader")
	sims.GDAP.Faults.Set(simfault.Fault{Status: 503})

	for i := 0; i < 3; i++ {
		specDo(t, gw.URL, "GET", "/v1/customers", token)
	}
	before := sims.GDAP.Faults.TotalCalls()
	var list customerList
	r := specDo(t, gw.URL, "GET", "/v1/customers", token)
	r.JSON(t, &list)
	if st, _ := list.source("gdap"); r.Status != 200 || st != "unavailable" {
		t.Fatalf("after 3 failures: status %d, gdap source %q, want 200 and unavailable", r.Status, st)
	}
	if after := sims.GDAP.Faults.TotalCalls(); after != before {
		t.Fatalf("open breaker still called GDAP (%d calls)", after-before)
	}
}

func TestAllVendorsFailing(t *testing.T) {
	tests := []struct {
		name   string
		fault  simfault.Fault
		env    []string
		status int
	}{
		{"errors give 502", simfault.Fault{Status: 500}, nil, 502},
		{"hangs give 504", simfault.Fault{Hang: true}, []string{"GATEWAY_GDAP_TIMEOUT", "300ms", "GATEWAY_CRAYON_TIMEOUT", "300ms", "GATEWAY_BOKAMERA_TIMEOUT", "300ms"}, 504},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sims := newVendorSims(t)
			gw := startRun(t, nil, sims.Env(tc.env...))
			token := fetchToken(t, sims.Issuer.URL(), "dev-reader")
			sims.GDAP.Faults.Set(tc.fault)
			sims.Crayon.Faults.Set(tc.fault)
			sims.BokaMera.Faults.Set(tc.fault)
			expectProblem(t, specDo(t, gw.URL, "GET", "/v1/customers", token), tc.status)
		})
	}
	t.Run("open breakers give 503 with Retry-After", func(t *testing.T) {
		sims := newVendorSims(t)
		gw := startRun(t, nil, sims.Env("GATEWAY_BREAKER_MIN_REQUESTS", "2", "GATEWAY_BREAKER_OPEN_FOR", "1m"))
		token := fetchToken(t, sims.Issuer.URL(), "dev-reader")
		for _, s := range []*simfault.Injector{sims.GDAP.Faults, sims.Crayon.Faults, sims.BokaMera.Faults} {
			s.Set(simfault.Fault{Status: 500})
		}
		for i := 0; i < 2; i++ {
			specDo(t, gw.URL, "GET", "/v1/customers", token)
		}
		r := specDo(t, gw.URL, "GET", "/v1/customers", token)
		expectProblem(t, r, 503)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	})
}
