package handlers

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"

	"github.com/partnerhub/gateway/api"
	"github.com/partnerhub/gateway/internal/middleware"
	"github.com/partnerhub/gateway/internal/problem"
)

// pathRule is one path parameter's constraints, read from api/openapi.yaml
// so the contract and the checks cannot drift apart.
type pathRule struct {
	name      string
	minLength int
	maxLength int // 0: none
	pattern   *regexp.Regexp
	uuid      bool
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// pathRules maps "METHOD /route/{pattern}" to its path parameters' rules.
type pathRules map[string][]pathRule

// loadPathRules reads every operation's path parameters from the embedded
// contract.
func loadPathRules() (pathRules, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	rules := pathRules{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			for _, p := range params {
				if p.Value == nil || p.Value.In != openapi3.ParameterInPath {
					continue
				}
				rule, err := ruleFor(p.Value)
				if err != nil {
					return nil, fmt.Errorf("api/openapi.yaml %s %s: %w", method, path, err)
				}
				rules[method+" "+path] = append(rules[method+" "+path], rule)
			}
		}
	}
	return rules, nil
}

func ruleFor(p *openapi3.Parameter) (pathRule, error) {
	rule := pathRule{name: p.Name}
	if p.Schema == nil || p.Schema.Value == nil {
		return rule, nil
	}
	s := p.Schema.Value
	rule.minLength = int(s.MinLength)
	if s.MaxLength != nil {
		rule.maxLength = int(*s.MaxLength)
	}
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return rule, fmt.Errorf("path parameter %s: pattern: %w", p.Name, err)
		}
		rule.pattern = re
	}
	rule.uuid = s.Format == "uuid"
	return rule, nil
}

// check reports what is wrong with v, or "".
func (r pathRule) check(v string) string {
	n := utf8.RuneCountInString(v)
	switch {
	case n < max(r.minLength, 1):
		return "must not be empty"
	case r.maxLength > 0 && n > r.maxLength:
		return fmt.Sprintf("must be at most %d characters", r.maxLength)
	case r.pattern != nil && !r.pattern.MatchString(v):
		return "must match " + r.pattern.String()
	case r.uuid && !uuidRE.MatchString(v):
		return "must be a UUID"
	}
	return ""
}

// checkPathParams refuses, before any vendor call, a request whose path
// parameters break the contract. It runs after routing (in a route
// group), when the route pattern is known.
func checkPathParams(rules pathRules) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			method := r.Method
			if method == http.MethodHead {
				method = http.MethodGet
			}
			pattern := strings.TrimSuffix(chi.RouteContext(r.Context()).RoutePattern(), "/")
			var errs []problem.FieldError
			for _, rule := range rules[method+" "+pattern] {
				if msg := rule.check(pathParam(r, rule.name)); msg != "" {
					errs = append(errs, problem.FieldError{Location: "path." + rule.name, Code: problem.CodeInvalidFormat, Message: msg})
				}
			}
			if len(errs) > 0 {
				problem.Write(w, middleware.RequestID(r.Context()), problem.BadRequest("one or more path parameters are invalid", errs...))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
