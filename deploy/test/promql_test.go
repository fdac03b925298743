package test

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

const (
	exportedSeriesFile = "../exported-series.txt"
	rulesFile          = "../prometheus/gateway-rules.yaml"
	dashboardFile      = "../grafana/gateway.json"
)

func exportedSeries(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(exportedSeriesFile)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range strings.Fields(string(b)) {
		out[n] = true
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no series", exportedSeriesFile)
	}
	return out
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record string `json:"record"`
			Alert  string `json:"alert"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	// Only the expressions matter here; promtool checks the file's schema.
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// metricNames parses expr and returns the metric name of every selector in
// it; a selector without a literal name is an error (it could match
// anything).
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, sel := range parser.ExtractSelectors(e) {
		name := ""
		for _, m := range sel {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			return nil, errNoName
		}
		names = append(names, name)
	}
	return names, nil
}

var errNoName = errors.New("selector without a literal metric name")

func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	names, err := metricNames(expr)
	if err != nil {
		t.Errorf("%s: %v\n  %s", where, err, expr)
		return
	}
	if len(names) == 0 {
		t.Errorf("%s: selects no series: %s", where, expr)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %s is not a series the gateway exports (or a recording rule)", where, n)
		}
	}
}

func TestRulesUseExportedSeries(t *testing.T) {
	known := exportedSeries(t)
	rf := loadRules(t)
	// Recording rules may be used by later rules.
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = true
			}
		}
	}
	alerts := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			checkExpr(t, g.Name+"/"+r.Record+r.Alert, r.Expr, known)
			if r.Alert != "" {
				alerts++
			}
		}
	}
	if alerts < 7 {
		t.Errorf("%d alerts, want at least the 7 the runbook names", alerts)
	}
}

// grafanaVars replaces dashboard variables with values the parser accepts.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"$job", "gw", "${job}", "gw",
)

var leftoverVar = regexp.MustCompile(`\$\{?[A-Za-z_]\w*`)

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func TestDashboardQueriesParseAndUseExportedSeries(t *testing.T) {
	known := exportedSeries(t)
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string  `json:"title"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	used := map[string]bool{}
	queries := 0
	for _, p := range all {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			expr := grafanaVars.Replace(tg.Expr)
			if v := leftoverVar.FindString(expr); v != "" {
				t.Errorf("panel %q: unknown dashboard variable %s", p.Title, v)
				continue
			}
			checkExpr(t, "panel "+p.Title, expr, known)
			names, _ := metricNames(expr)
			for _, n := range names {
				used[n] = true
			}
			queries++
		}
	}
	// The issue asks for these areas; each must be on the dashboard.
	for _, n := range []string{
		"gateway_http_requests_total", "gateway_http_request_duration_seconds_bucket",
		"gateway_upstream_requests_total", "gateway_upstream_request_duration_seconds_bucket",
		"gateway_upstream_breaker_state", "gateway_upstream_retries_total",
		"gateway_cache_lookups_total", "gateway_rate_limited_total", "gateway_store_up",
	} {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
	t.Logf("%d queries in %d panels", queries, len(all))
}
