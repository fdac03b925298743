package gdapsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// Relationship listing variants. The vendor's listing is undocumented, so
// the simulator plays the plausible answers: no such route (404), Graph
// objects under "Relationships", or Graph's own {"value": [...]}.
const (
	RelationshipsNone  = "none"
	RelationshipsGraph = "graph"
	RelationshipsValue = "value"
)

// onboarding is the simulator's template, group and relationship state.
type onboarding struct {
	mu            sync.Mutex
	variant       string
	delay         time.Duration // how long a transition takes
	templates     map[string]*template
	relationships []relationship
	calls         map[string]int // route -> accepted calls
}

type template struct {
	Name          string
	Roles         []string
	Duration      string
	GroupsCreated bool
}

type relationship struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
	Customer    struct {
		TenantID    string `json:"tenantId"`
		DisplayName string `json:"displayName"`
	} `json:"customer"`
	AccessDetails struct {
		UnifiedRoles []struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
		} `json:"unifiedRoles"`
	} `json:"accessDetails"`
	Duration             string  `json:"duration"`
	AutoExtendDuration   string  `json:"autoExtendDuration"`
	CreatedDateTime      string  `json:"createdDateTime"`
	LastModifiedDateTime string  `json:"lastModifiedDateTime"`
	ActivatedDateTime    *string `json:"activatedDateTime"`
	EndDateTime          *string `json:"endDateTime"`
}

func newOnboarding(variant string) *onboarding {
	if variant == "" {
		variant = RelationshipsNone
	}
	o := &onboarding{variant: variant, templates: map[string]*template{}, calls: map[string]int{}}
	// Seed: Contoso active, Fabrikam waiting for the customer's approval,
	// Tailspin expired.
	now := time.Now().UTC().Truncate(time.Second)
	seed := []struct {
		org    string
		status string
		ago    time.Duration
	}{{"Contoso AB", "active", 200 * 24 * time.Hour}, {"Fabrikam Oy", "approvalPending", 0}, {"Tailspin Toys ApS", "expired", 800 * 24 * time.Hour}}
	for i, s := range seed {
		for _, org := range simseed.Orgs {
			if org.Name != s.org {
				continue
			}
			// Graph relationship ids are two GUIDs joined by "-".
			id := fmt.Sprintf("%08d-0000-4000-8000-%012d-%s", i+1, i+1, org.TenantID)
			r := newRelationship(id, org, simseed.GDAPRoles[i%2].ID, "P730D", now.Add(-s.ago))
			r.Status = s.status
			if s.status == "approvalPending" {
				r.ActivatedDateTime, r.EndDateTime = nil, nil
			}
			o.relationships = append(o.relationships, r)
		}
	}
	return o
}

func newRelationship(id string, org simseed.Org, roleID, duration string, activated time.Time) relationship {
	r := relationship{ID: id, DisplayName: "PartnerHub-" + org.DomainPrefix, Status: "active", Duration: duration, AutoExtendDuration: "PT0S"}
	r.Customer.TenantID, r.Customer.DisplayName = org.TenantID, org.Name
	r.AccessDetails.UnifiedRoles = append(r.AccessDetails.UnifiedRoles, struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
	}{roleID})
	at := activated.Format(time.RFC3339)
	end := activated.Add(durationOf(duration)).Format(time.RFC3339)
	r.CreatedDateTime, r.LastModifiedDateTime, r.ActivatedDateTime, r.EndDateTime = at, at, &at, &end
	return r
}

// SetRelationshipsVariant switches the relationship listing at run time.
func (s *Server) SetRelationshipsVariant(v string) {
	s.onb.mu.Lock()
	defer s.onb.mu.Unlock()
	s.onb.variant = v
}

// SetTransitionDelay makes MigrateCustomerByTemplate and ExpressTransition
// take d, as the vendor's synchronous activation does.
func (s *Server) SetTransitionDelay(d time.Duration) {
	s.onb.mu.Lock()
	defer s.onb.mu.Unlock()
	s.onb.delay = d
}

// OnboardingCalls is how many calls of an onboarding route were accepted.
func (s *Server) OnboardingCalls(route string) int {
	s.onb.mu.Lock()
	defer s.onb.mu.Unlock()
	return s.onb.calls[strings.ToLower(route)]
}

// Relationship returns the customer's newest relationship status, if any.
func (s *Server) RelationshipStatus(customerTenantID string) (string, bool) {
	s.onb.mu.Lock()
	defer s.onb.mu.Unlock()
	for i := len(s.onb.relationships) - 1; i >= 0; i-- {
		if strings.EqualFold(s.onb.relationships[i].Customer.TenantID, customerTenantID) {
			return s.onb.relationships[i].Status, true
		}
	}
	return "", false
}

// onboardingRoute serves the onboarding functions; false when name is none.
func (s *Server) onboardingRoute(w http.ResponseWriter, r *http.Request, name string) bool {
	is := func(fn, method string) bool { return strings.EqualFold(name, fn) && r.Method == method }
	switch {
	case is("PublishTemplate", http.MethodPost):
		s.publishTemplate(w, r)
	case is("CreateSecurityGroupsByTemplate", http.MethodPost):
		s.createSecurityGroups(w, r)
	case is("MigrateCustomerByTemplate", http.MethodPost):
		s.migrateCustomer(w, r)
	case is("ExpressTransition", http.MethodPost):
		s.expressTransition(w, r)
	case is("GetRelationships", http.MethodGet):
		s.onb.mu.Lock()
		variant := s.onb.variant
		s.onb.mu.Unlock()
		if variant == RelationshipsNone {
			w.WriteHeader(http.StatusNotFound) // Azure Functions: no such function
			return true
		}
		s.listRelationships(w, r, variant)
	default:
		return false
	}
	return true
}

func (s *Server) count(route string) {
	s.onb.mu.Lock()
	defer s.onb.mu.Unlock()
	s.onb.calls[strings.ToLower(route)]++
}

var (
	guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// GDAP durations are whole days (P1D..P730D) or years (P1Y, P2Y).
	durationPattern = regexp.MustCompile(`^P(\d{1,3})([DY])$`)
)

// durationOf is a GDAP duration, 0 when it is not one GDAP accepts.
func durationOf(d string) time.Duration {
	m := durationPattern.FindStringSubmatch(d)
	if m == nil {
		return 0
	}
	var n int
	_, _ = fmt.Sscan(m[1], &n)
	days := n
	if m[2] == "Y" {
		days = n * 365
	}
	if days < 1 || days > 730 {
		return 0
	}
	return time.Duration(days) * 24 * time.Hour
}

type appliedRole struct {
	ID          string `json:"Id"`
	Name        string `json:"Name"`
	Description string `json:"Description"`
}

// checkRoles applies the vendor's documented validation: real role ids,
// no duplicates.
func checkRoles(roles []appliedRole) string {
	if len(roles) == 0 {
		return "AppliedRoles must not be empty"
	}
	seen := map[string]bool{}
	for _, r := range roles {
		id := strings.ToLower(r.ID)
		if !slices.ContainsFunc(simseed.GDAPRoles, func(g simseed.GDAPRole) bool { return g.ID == id }) {
			return "Role " + r.ID + " is not a valid Azure AD role id"
		}
		if seen[id] {
			return "Role " + r.ID + " is applied twice"
		}
		seen[id] = true
	}
	return ""
}

func (s *Server) bodyCall(w http.ResponseWriter, r *http.Request, v any) bool {
	if !s.authorized(r) {
		unauthorized(w)
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, "Please pass a valid JSON body")
		return false
	}
	return true
}

func (s *Server) publishTemplate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		PartnerID    string        `json:"PartnerId"`
		TemplateID   *string       `json:"TemplateId"`
		AppliedRoles []appliedRole `json:"AppliedRoles"`
		TemplateName string        `json:"TemplateName"`
		Duration     string        `json:"Duration"`
	}
	if !s.bodyCall(w, r, &body) {
		return
	}
	if !strings.EqualFold(body.PartnerID, s.opts.PartnerID) {
		unauthorized(w) // the token's claims do not match the partner
		return
	}
	msg := checkRoles(body.AppliedRoles)
	switch {
	case msg != "":
	case strings.TrimSpace(body.TemplateName) == "":
		msg = "TemplateName is required"
	case durationOf(body.Duration) == 0:
		msg = "Duration must be an ISO 8601 duration between P1D and P2Y"
	}
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, msg)
		return
	}
	id := newGUID()
	s.onb.mu.Lock()
	if body.TemplateID != nil {
		if _, ok := s.onb.templates[strings.ToLower(*body.TemplateID)]; !ok {
			s.onb.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, "Template "+*body.TemplateID+" does not exist")
			return
		}
		id = strings.ToLower(*body.TemplateID)
	}
	t := &template{Name: body.TemplateName, Duration: body.Duration}
	for _, ar := range body.AppliedRoles {
		t.Roles = append(t.Roles, strings.ToLower(ar.ID))
	}
	s.onb.templates[id] = t
	s.onb.mu.Unlock()
	s.count("PublishTemplate")
	// The vendor's wording, misspelling included.
	writeJSON(w, http.StatusOK, struct{ Result, Message string }{"Accepted", "Template data parsed and verfied. Template Id: " + id})
}

// queryTemplate checks the token, providerId and templateId of a query call.
func (s *Server) queryTemplate(w http.ResponseWriter, r *http.Request) (*template, string, bool) {
	if !s.partnerCall(w, r, "providerId") {
		return nil, "", false
	}
	id := strings.ToLower(r.URL.Query().Get("templateId"))
	s.onb.mu.Lock()
	t, ok := s.onb.templates[id]
	s.onb.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusBadRequest, "Template "+r.URL.Query().Get("templateId")+" does not exist")
		return nil, "", false
	}
	return t, id, true
}

func roleName(id string) string {
	for _, g := range simseed.GDAPRoles {
		if g.ID == id {
			return g.Name
		}
	}
	return id
}

func (s *Server) createSecurityGroups(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.queryTemplate(w, r)
	if !ok {
		return
	}
	if !guidPattern.MatchString(r.URL.Query().Get("userId")) {
		writeJSON(w, http.StatusBadRequest, "Please pass a valid userId on the query string")
		return
	}
	s.onb.mu.Lock()
	t.GroupsCreated = true
	roles := slices.Clone(t.Roles)
	s.onb.mu.Unlock()
	lines := []string{}
	for _, id := range roles {
		lines = append(lines, "Success: CSP-SG CSP-SG "+roleName(id)+" "+newGUID())
	}
	s.count("CreateSecurityGroupsByTemplate")
	writeJSON(w, http.StatusOK, struct {
		Result         string
		Message        string
		SecurityGroups []string
	}{"Accepted", "Admin Agents group mapped to newly created security groups.", lines})
}

// transition creates and activates a relationship, taking the configured
// delay as the vendor's synchronous activation does.
func (s *Server) transition(w http.ResponseWriter, r *http.Request, customerID string, roles []string, duration string) {
	var org *simseed.Org
	for i, o := range simseed.Orgs {
		if o.InGDAP && strings.EqualFold(o.TenantID, customerID) {
			org = &simseed.Orgs[i]
		}
	}
	switch {
	case org == nil:
		writeJSON(w, http.StatusBadRequest, "Customer "+customerID+" is not a customer of this partner")
		return
	case durationOf(duration) == 0:
		writeJSON(w, http.StatusBadRequest, "duration must be an ISO 8601 duration between P1D and P2Y")
		return
	}
	s.onb.mu.Lock()
	delay := s.onb.delay
	s.onb.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	rel := newRelationship(newGUID()+"-"+newGUID()[:8], *org, roles[0], duration, time.Now().UTC().Truncate(time.Second))
	for _, id := range roles[1:] {
		rel.AccessDetails.UnifiedRoles = append(rel.AccessDetails.UnifiedRoles, struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
		}{id})
	}
	s.onb.mu.Lock()
	s.onb.relationships = append(s.onb.relationships, rel)
	s.onb.mu.Unlock()
	msgs := []string{}
	for _, id := range roles {
		msgs = append(msgs, "Access Role Id Assigned Successfully: "+id)
	}
	writeJSON(w, http.StatusOK, struct {
		Result  string
		Message []string
	}{"Accepted", msgs})
}

func (s *Server) migrateCustomer(w http.ResponseWriter, r *http.Request) {
	t, _, ok := s.queryTemplate(w, r)
	if !ok {
		return
	}
	s.onb.mu.Lock()
	groups, roles := t.GroupsCreated, slices.Clone(t.Roles)
	s.onb.mu.Unlock()
	if !groups {
		writeJSON(w, http.StatusBadRequest, "Security groups have not been created for this template")
		return
	}
	s.count("MigrateCustomerByTemplate")
	s.transition(w, r, r.URL.Query().Get("customerId"), roles, r.URL.Query().Get("duration"))
}

func (s *Server) expressTransition(w http.ResponseWriter, r *http.Request) {
	var body struct {
		PartnerID        string        `json:"PartnerId"`
		TemplateID       *string       `json:"TemplateId"`
		CustomerID       string        `json:"CustomerId"`
		CustomerTenantID string        `json:"CustomerTenantId"`
		AppliedRoles     []appliedRole `json:"AppliedRoles"`
		Duration         string        `json:"Duration"`
	}
	if !s.bodyCall(w, r, &body) {
		return
	}
	if !strings.EqualFold(body.PartnerID, s.opts.PartnerID) {
		unauthorized(w)
		return
	}
	if msg := checkRoles(body.AppliedRoles); msg != "" {
		writeJSON(w, http.StatusBadRequest, msg)
		return
	}
	customer := body.CustomerTenantID
	if customer == "" {
		customer = body.CustomerID
	}
	roles := []string{}
	for _, ar := range body.AppliedRoles {
		roles = append(roles, strings.ToLower(ar.ID))
	}
	s.count("ExpressTransition")
	s.transition(w, r, customer, roles, body.Duration)
}

func (s *Server) listRelationships(w http.ResponseWriter, r *http.Request, variant string) {
	if !s.partnerCall(w, r, "partnerId") {
		return
	}
	s.onb.mu.Lock()
	items := slices.Clone(s.onb.relationships)
	s.onb.mu.Unlock()
	if items == nil {
		items = []relationship{}
	}
	if variant == RelationshipsValue {
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships", "value": items})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"Relationships": items})
}

func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
