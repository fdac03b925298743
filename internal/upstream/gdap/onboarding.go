package gdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
	"github.com/partnerhub/gateway/internal/upstream"
)

// Onboarding routes. The relationships route is undocumented; the
// client tries it and reports ErrNoRelationshipRoute when it is absent.
const (
	publishRoute        = "PublishTemplate"
	securityGroupsRoute = "CreateSecurityGroupsByTemplate"
	migrateRoute        = "MigrateCustomerByTemplate"
	expressRoute        = "ExpressTransition"
	RelationshipsRoute  = "GetRelationships"

	// DefaultSlowTimeout bounds one ExpressTransition or migration call:
	// the vendor activates the relationship synchronously, which can take
	// about a minute.
	DefaultSlowTimeout = 150 * time.Second
)

// ErrNoRelationshipRoute: this GDAP deployment has no relationship listing.
var ErrNoRelationshipRoute = errors.New("gdap: the vendor offers no relationship listing")

// guidInText finds GUIDs inside vendor messages.
var guidInText = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// TemplateRequest publishes (or, with TemplateID, republishes) a template.
type TemplateRequest struct {
	TemplateID string
	Name       string
	Roles      []model.Role
	Duration   string // ISO 8601, P1D..P2Y
}

// TemplateResult is the vendor's answer to PublishTemplate.
type TemplateResult struct {
	TemplateID string
	Message    string
}

type appliedRole struct {
	ID          string `json:"Id"`
	Name        string `json:"Name"`
	Description string `json:"Description"`
}

func appliedRoles(roles []model.Role) []appliedRole {
	out := make([]appliedRole, len(roles))
	for i, r := range roles {
		out[i] = appliedRole{ID: r.ID, Name: r.Name, Description: r.Description}
	}
	return out
}

// PublishTemplate publishes a role template. The vendor returns the new
// template's id only inside its message text; the client takes the GUID
// there (the wording around it is not relied on). Never retried.
func (c *Client) PublishTemplate(ctx context.Context, req TemplateRequest) (TemplateResult, error) {
	body := struct {
		PartnerID    string        `json:"PartnerId"`
		TemplateID   *string       `json:"TemplateId"`
		AppliedRoles []appliedRole `json:"AppliedRoles"`
		TemplateName string        `json:"TemplateName"`
		Duration     string        `json:"Duration"`
	}{PartnerID: c.partner, AppliedRoles: appliedRoles(req.Roles), TemplateName: req.Name, Duration: req.Duration}
	if req.TemplateID != "" {
		body.TemplateID = &req.TemplateID
	}
	var out TemplateResult
	err := c.send(ctx, "publish_template", publishRoute, "", body, 0, func(r io.Reader) error {
		env, err := decodeEnvelope(r)
		if err != nil {
			return err
		}
		out.Message = strings.Join(env.messages, "; ")
		ids := guidInText.FindAllString(out.Message, -1)
		if len(ids) == 0 {
			return fmt.Errorf("%w: PublishTemplate accepted without a template id in its message", upstream.ErrMalformed)
		}
		out.TemplateID = strings.ToLower(ids[len(ids)-1])
		return nil
	})
	return out, err
}

// SecurityGroup is one line of CreateSecurityGroupsByTemplate's answer.
type SecurityGroup struct {
	Succeeded bool
	// GroupID is the GUID at the end of the line, when there is one.
	GroupID string
	Text    string
}

// SecurityGroupsResult is the vendor's answer to CreateSecurityGroupsByTemplate.
type SecurityGroupsResult struct {
	Messages []string
	Groups   []SecurityGroup
}

// CreateSecurityGroups creates a security group per role of the template,
// owned by the Entra user ownerID, and maps the Admin Agents group into
// them. Never retried.
func (c *Client) CreateSecurityGroups(ctx context.Context, templateID, ownerID string) (SecurityGroupsResult, error) {
	q := "providerId=" + url.QueryEscape(c.partner) + "&templateId=" + url.QueryEscape(templateID) + "&userId=" + url.QueryEscape(ownerID)
	var out SecurityGroupsResult
	err := c.send(ctx, "create_security_groups", securityGroupsRoute, q, nil, 0, func(r io.Reader) error {
		env, err := decodeEnvelope(r)
		if err != nil {
			return err
		}
		out.Messages = env.messages
		for _, line := range messageList(env.raw["SecurityGroups"]) {
			g := SecurityGroup{Text: line, Succeeded: strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "success")}
			if ids := guidInText.FindAllString(line, -1); len(ids) > 0 {
				g.GroupID = strings.ToLower(ids[len(ids)-1])
			}
			out.Groups = append(out.Groups, g)
		}
		return nil
	})
	return out, err
}

// MigrationResult is what a transition reported: its message lines and the
// role ids it says it assigned.
type MigrationResult struct {
	Messages        []string
	AssignedRoleIDs []string
}

func migration(env envelopeFields) MigrationResult {
	out := MigrationResult{Messages: env.messages}
	for _, m := range env.messages {
		if strings.Contains(strings.ToLower(m), "success") {
			out.AssignedRoleIDs = append(out.AssignedRoleIDs, lowerAll(guidInText.FindAllString(m, -1))...)
		}
	}
	return out
}

// MigrateCustomer moves a customer onto GDAP with a published template's
// roles for duration. Activation runs synchronously at the vendor, so the
// call gets the slow timeout. Never retried.
func (c *Client) MigrateCustomer(ctx context.Context, templateID, customerTenantID, duration string) (MigrationResult, error) {
	q := "providerId=" + url.QueryEscape(c.partner) + "&templateId=" + url.QueryEscape(templateID) +
		"&customerId=" + url.QueryEscape(customerTenantID) + "&duration=" + url.QueryEscape(duration)
	var out MigrationResult
	err := c.send(ctx, "migrate_customer", migrateRoute, q, nil, c.slowTimeout(), func(r io.Reader) error {
		env, err := decodeEnvelope(r)
		out = migration(env)
		return err
	})
	return out, err
}

// ExpressRequest is one express transition: the vendor validates the
// roles, creates missing security groups, creates and activates the
// relationship and assigns the roles, in one call.
type ExpressRequest struct {
	CustomerTenantID string
	Roles            []model.Role
	Duration         string
}

// ExpressTransition runs an express transition under the slow timeout.
// The customer field's name was cut off in the vendor's documentation, so
// both plausible spellings are sent. Never retried.
func (c *Client) ExpressTransition(ctx context.Context, req ExpressRequest) (MigrationResult, error) {
	body := struct {
		PartnerID        string        `json:"PartnerId"`
		TemplateID       *string       `json:"TemplateId"`
		CustomerID       string        `json:"CustomerId"`
		CustomerTenantID string        `json:"CustomerTenantId"`
		AppliedRoles     []appliedRole `json:"AppliedRoles"`
		Duration         string        `json:"Duration"`
	}{PartnerID: c.partner, CustomerID: req.CustomerTenantID, CustomerTenantID: req.CustomerTenantID,
		AppliedRoles: appliedRoles(req.Roles), Duration: req.Duration}
	var out MigrationResult
	err := c.send(ctx, "express_transition", expressRoute, "", body, c.slowTimeout(), func(r io.Reader) error {
		env, err := decodeEnvelope(r)
		out = migration(env)
		return err
	})
	return out, err
}

// Relationships lists the partner's delegated-admin relationships from
// the undocumented GetRelationships route. Items may be Microsoft Graph
// delegatedAdminRelationship objects (any casing) or Table-style entities;
// the list may be bare, under "value" (Graph) or under any one array
// property. ErrNoRelationshipRoute when the deployment has no such route.
func (c *Client) Relationships(ctx context.Context) ([]model.GDAPRelationship, error) {
	var out []model.GDAPRelationship
	err := c.call(ctx, "list_relationships", http.MethodGet, RelationshipsRoute, "partnerId="+url.QueryEscape(c.partner),
		func(r io.Reader) (err error) {
			out, err = decodeRelationships(r)
			return err
		})
	if isStatus(err, http.StatusNotFound) {
		var ue *upstream.Error
		errors.As(err, &ue)
		ue.Err = ErrNoRelationshipRoute
		return nil, ue
	}
	return out, err
}

func (c *Client) slowTimeout() time.Duration {
	if c.slow > 0 {
		return c.slow
	}
	return DefaultSlowTimeout
}

// SetSlowTimeout sets the per-call timeout of the slow onboarding calls
// (0: DefaultSlowTimeout).
func (c *Client) SetSlowTimeout(d time.Duration) { c.slow = d }

// send is a POST with an optional JSON body and per-call timeout. Every
// onboarding call changes the customer's tenant, so it is sent at most once.
func (c *Client) send(ctx context.Context, op, route, query string, body any, timeout time.Duration, decode func(io.Reader) error) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return &upstream.Error{Vendor: model.VendorGDAP, Op: op, Err: err}
		}
	}
	return c.request(ctx, op, http.MethodPost, route, query, raw, timeout, decode)
}

// envelopeFields is a decoded {Result, Message, ...} envelope.
type envelopeFields struct {
	messages []string
	raw      map[string]json.RawMessage
}

// decodeEnvelope reads an envelope whose Message is a string or an array
// of strings, with any extra fields kept raw. A Result other than Accepted
// is the vendor refusing (ErrRejected, Result as the code).
func decodeEnvelope(r io.Reader) (envelopeFields, error) {
	var raw map[string]json.RawMessage
	if err := upstream.DecodeJSON(r, &raw); err != nil {
		return envelopeFields{}, err
	}
	// Keys may come in any casing.
	fold := make(map[string]json.RawMessage, len(raw))
	for k, v := range raw {
		for _, want := range []string{"Result", "Message", "SecurityGroups"} {
			if strings.EqualFold(k, want) {
				k = want
			}
		}
		fold[k] = v
	}
	var result string
	if err := json.Unmarshal(fold["Result"], &result); err != nil || result == "" {
		return envelopeFields{}, fmt.Errorf("%w: no Result in envelope", upstream.ErrMalformed)
	}
	env := envelopeFields{messages: messageList(fold["Message"]), raw: fold}
	if !strings.EqualFold(result, "Accepted") {
		return env, &upstream.Error{Status: http.StatusOK, Code: clip(result), Message: clip(strings.Join(env.messages, "; ")), Err: upstream.ErrRejected}
	}
	return env, nil
}

// messageList reads a string or an array of strings (any other JSON is
// kept as its text; null is nothing).
func messageList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
		return []string{s}
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	if t := strings.TrimSpace(string(raw)); t != "null" {
		return []string{clip(t)}
	}
	return nil
}

// relationshipItem accepts Graph's delegatedAdminRelationship and a
// Table-style entity with the same information.
type relationshipItem struct {
	ID          string `json:"id"`
	RowKey      string `json:"RowKey"`
	DisplayName string `json:"displayName"`
	Status      string `json:"status"`
	Customer    *struct {
		TenantID    string `json:"tenantId"`
		DisplayName string `json:"displayName"`
	} `json:"customer"`
	CustomerTenantID   string  `json:"customerTenantId"`
	Duration           string  `json:"duration"`
	AutoExtendDuration string  `json:"autoExtendDuration"`
	CreatedDateTime    *string `json:"createdDateTime"`
	ActivatedDateTime  *string `json:"activatedDateTime"`
	EndDateTime        *string `json:"endDateTime"`
	AccessDetails      *struct {
		UnifiedRoles []struct {
			RoleDefinitionID string `json:"roleDefinitionId"`
		} `json:"unifiedRoles"`
	} `json:"accessDetails"`
}

var relationshipStatuses = map[string]string{
	"created": model.RelationshipCreated, "approvalpending": model.RelationshipApprovalPending,
	"approved": model.RelationshipApproved, "activating": model.RelationshipActivating,
	"active": model.RelationshipActive, "expiring": model.RelationshipExpiring, "expired": model.RelationshipExpired,
	"terminationrequested": model.RelationshipTerminationRequested, "terminating": model.RelationshipTerminating,
	"terminated": model.RelationshipTerminated,
}

func (it relationshipItem) model() model.GDAPRelationship {
	m := model.GDAPRelationship{
		ID: strings.TrimSpace(it.ID), DisplayName: strings.TrimSpace(it.DisplayName),
		Status:   model.RelationshipUnknown,
		Duration: strings.TrimSpace(it.Duration), AutoExtendDuration: strings.TrimSpace(it.AutoExtendDuration),
		CustomerTenantID: lowerTrim(it.CustomerTenantID), RoleIDs: []string{},
	}
	if m.ID == "" {
		m.ID = strings.TrimSpace(it.RowKey)
	}
	if s, ok := relationshipStatuses[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(it.Status), "_", ""))]; ok {
		m.Status = s
	}
	if it.Customer != nil {
		if id := lowerTrim(it.Customer.TenantID); id != "" {
			m.CustomerTenantID = id
		}
		m.CustomerName = strings.TrimSpace(it.Customer.DisplayName)
	}
	if it.AccessDetails != nil {
		for _, r := range it.AccessDetails.UnifiedRoles {
			if id := lowerTrim(r.RoleDefinitionID); id != "" {
				m.RoleIDs = append(m.RoleIDs, id)
			}
		}
	}
	m.CreatedAt, m.ActivatedAt, m.EndsAt = graphTime(it.CreatedDateTime), graphTime(it.ActivatedDateTime), graphTime(it.EndDateTime)
	return m
}

func graphTime(s *string) *time.Time {
	if s == nil {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(*s))
	if err != nil || t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func decodeRelationships(r io.Reader) ([]model.GDAPRelationship, error) {
	var raw json.RawMessage
	if err := upstream.DecodeJSON(r, &raw); err != nil {
		return nil, err
	}
	var items []relationshipItem
	if json.Unmarshal(raw, &items) != nil {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%w: relationships are neither a list nor an object", upstream.ErrMalformed)
		}
		found := false
		for k, v := range obj {
			if strings.HasPrefix(k, "@odata") {
				continue
			}
			var list []relationshipItem
			if json.Unmarshal(v, &list) == nil && list != nil {
				if found {
					return nil, fmt.Errorf("%w: relationships object has more than one list", upstream.ErrMalformed)
				}
				items, found = list, true
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: relationships object has no list", upstream.ErrMalformed)
		}
	}
	out := make([]model.GDAPRelationship, 0, len(items))
	for _, it := range items {
		if m := it.model(); m.CustomerTenantID != "" {
			out = append(out, m)
		}
	}
	return out, nil
}

func lowerAll(s []string) []string {
	for i := range s {
		s[i] = strings.ToLower(s[i])
	}
	return s
}
