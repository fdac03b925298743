package main

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

type auditEvent struct {
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	RequestID string          `json:"request_id"`
	Subject   string          `json:"subject"`
	ClientID  string          `json:"client_id"`
	Operation string          `json:"operation"`
	Target    string          `json:"target"`
	Input     json.RawMessage `json:"input"`
	Outcome   string          `json:"outcome"`
	Status    int             `json:"status"`
	Detail    string          `json:"detail"`
}

type auditList struct {
	Items         []auditEvent `json:"items"`
	NextPageToken string       `json:"next_page_token"`
}

func listAudit(t *testing.T, c *client, query string) auditList {
	t.Helper()
	r := c.do("GET", "/v1/audit-events"+query, "")
	if r.Status != 200 {
		t.Fatalf("GET /v1/audit-events%s: %d %s", query, r.Status, r.Body)
	}
	var l auditList
	r.JSON(t, &l)
	return l
}

// TestAuditTrailRecordsEveryWrite: each write leaves one event with who,
// what, the outcome and the request id the caller saw.
func TestAuditTrailRecordsEveryWrite(t *testing.T) {
	sims := newVendorSims(t)
	gw := startRun(t, nil, sims.Env())
	op := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-operator"))
	admin := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-admin"))
	reader := newClient(t, gw.URL, fetchToken(t, sims.Issuer.URL(), "dev-reader"))
	before := time.Now().UTC().Add(-time.Second)

	reg := op.do("POST", "/v1/licenses", `{"company":"Audit Co","user":"a1@audit.example"}`)
	if reg.Status != 201 {
		t.Fatalf("register: %d %s", reg.Status, reg.Body)
	}
	dup := op.do("POST", "/v1/licenses", `{"company":"Audit Co","user":"a1@audit.example"}`)
	expectProblem(t, dup, 409)
	consent := op.do("POST", "/v1/tenants/1002/agreements", validAgreement)
	if consent.Status != 201 {
		t.Fatalf("consent: %d %s", consent.Status, consent.Body)
	}
	// Caller mistakes never reach a vendor and leave no event.
	expectProblem(t, op.do("POST", "/v1/licenses", `{"company":""}`), 400)

	all := listAudit(t, admin, "")
	if len(all.Items) != 3 {
		t.Fatalf("want 3 events, got %d: %+v", len(all.Items), all.Items)
	}
	first, second, third := all.Items[0], all.Items[1], all.Items[2]
	if first.Operation != "licenses.register" || first.Outcome != "succeeded" || first.Status != 201 ||
		first.Subject != "dev-operator" || first.ClientID != "dev-operator" || first.RequestID != reg.Header.Get("X-Request-Id") ||
		first.Target != "Audit Co/a1@audit.example" || !strings.Contains(string(first.Input), `"user":"a1@audit.example"`) {
		t.Fatalf("first event: %+v", first)
	}
	if first.Time.Before(before) || first.Time.After(time.Now().Add(time.Second)) {
		t.Fatalf("first event time %v", first.Time)
	}
	if second.Operation != "licenses.register" || second.Outcome != "failed" || second.Status != 409 || second.Detail == "" ||
		second.RequestID != dup.Header.Get("X-Request-Id") {
		t.Fatalf("second event: %+v", second)
	}
	if third.Operation != "agreements.add" || third.Outcome != "succeeded" || third.Target != "tenant/1002" ||
		!strings.Contains(string(third.Input), `"agreement_type":"microsoft_customer_agreement"`) {
		t.Fatalf("third event: %+v", third)
	}
	for _, e := range all.Items {
		if strings.Contains(string(e.Input), op.token) {
			t.Fatal("an event carries the caller's token")
		}
	}

	// Filters.
	if l := listAudit(t, admin, "?operation=agreements.add"); len(l.Items) != 1 || l.Items[0].ID != third.ID {
		t.Fatalf("operation filter: %+v", l.Items)
	}
	if l := listAudit(t, admin, "?subject=dev-admin"); len(l.Items) != 0 {
		t.Fatalf("subject filter: %+v", l.Items)
	}
	window := "?from=" + url.QueryEscape(second.Time.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(third.Time.Format(time.RFC3339Nano))
	if l := listAudit(t, admin, window); len(l.Items) != 1 || l.Items[0].ID != second.ID {
		t.Fatalf("time window: %+v", l.Items)
	}

	// Paging walks every event exactly once, oldest first.
	var seen []string
	q := "?page_size=2"
	for {
		l := listAudit(t, admin, q)
		for _, e := range l.Items {
			seen = append(seen, e.ID)
		}
		if l.NextPageToken == "" {
			break
		}
		q = "?page_size=2&page_token=" + url.QueryEscape(l.NextPageToken)
	}
	if strings.Join(seen, ",") != first.ID+","+second.ID+","+third.ID {
		t.Fatalf("paging saw %v", seen)
	}
	page := listAudit(t, admin, "?page_size=1")
	p := expectProblem(t, admin.do("GET", "/v1/audit-events?page_size=1&operation=licenses.register&page_token="+url.QueryEscape(page.NextPageToken), ""), 400)
	if len(p.Errors) != 1 || p.Errors[0].Location != "query.page_token" {
		t.Fatalf("token reused with other filters: %+v", p)
	}

	// Only admins read the trail.
	if p := expectProblem(t, reader.do("GET", "/v1/audit-events", ""), 403); !strings.Contains(p.Detail, "audit:read") {
		t.Fatalf("403 detail %q", p.Detail)
	}
	expectProblem(t, op.do("GET", "/v1/audit-events", ""), 403)
}
