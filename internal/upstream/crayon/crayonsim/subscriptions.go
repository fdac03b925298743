package crayonsim

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/upstream/simseed"
)

// Subscription seed: ids from FirstSubscriptionID in seed order.
const FirstSubscriptionID = 50001

// SubscriptionStatus flags and BillingCycleEnum values the seed uses.
const (
	StatusActive    = 1
	StatusSuspended = 2
	StatusExpired   = 32
	StatusPending   = 64
	StatusAll       = 511

	BillingMonthly = 1
	BillingAnnual  = 2
)

type product struct {
	ID                 int    `json:"Id"`
	PartNumber         string `json:"PartNumber"`
	PublisherProductID string `json:"PublisherProductId"`
	ItemLegalName      string `json:"ItemLegalName"`
	ItemName           string `json:"ItemName"`
}

// subscription is Crayon's Subscription, with the fields the SDK carries
// (PascalCase, nulls as Newtonsoft writes them).
type subscription struct {
	ID                            int        `json:"Id"`
	PublisherSubscriptionID       string     `json:"PublisherSubscriptionId"`
	EntitlementID                 *string    `json:"EntitlementId"`
	Publisher                     objectRef  `json:"Publisher"`
	Organization                  objectRef  `json:"Organization"`
	CustomerTenant                objectRef  `json:"CustomerTenant"`
	Product                       product    `json:"Product"`
	Quantity                      int        `json:"Quantity"`
	Name                          string     `json:"Name"`
	Status                        int        `json:"Status"`
	ProvisionType                 int        `json:"ProvisionType"`
	AvailableAddonsCount          int        `json:"AvailableAddonsCount"`
	Subscriptions                 []struct{} `json:"Subscriptions"`
	OrderID                       *int       `json:"OrderId"`
	CreationDate                  string     `json:"CreationDate"`
	BillingCycle                  int        `json:"BillingCycle"`
	Markup                        float64    `json:"Markup"`
	IsTrial                       bool       `json:"IsTrial"`
	StartDate                     *string    `json:"StartDate"`
	EndDate                       *string    `json:"EndDate"`
	PriceType                     int        `json:"PriceType"`
	RegisteredForReservedInstance bool       `json:"RegisteredForReservedInstance"`
	InvoiceProfile                objectRef  `json:"InvoiceProfile"`
	PartNumber                    string     `json:"PartNumber"`
	TermDuration                  *string    `json:"TermDuration"`
	AutoRenewEnabled              *bool      `json:"AutoRenewEnabled"`
	CancellationAllowedUntilDate  *string    `json:"CancellationAllowedUntilDate"`
	MaxEndCustomerQuantity        *int       `json:"MaxEndCustomerQuantity"`
}

// subscriptionDetailed is SubscriptionDetailed (GET /subscriptions/{id}).
type subscriptionDetailed struct {
	subscription
	EffectiveStartDate  *string  `json:"EffectiveStartDate"`
	CommitmentEndDate   *string  `json:"CommitmentEndDate"`
	SuspensionReasons   []string `json:"SuspensionReasons"`
	AttestationAccepted *bool    `json:"AttestationAccepted"`
}

var catalogue = []product{
	{1001, "CFQ7TTC0LF8R", "CFQ7TTC0LF8R:0002", "Microsoft 365 Business Premium", "Microsoft 365 Business Premium"},
	{1002, "CFQ7TTC0LDPB", "CFQ7TTC0LDPB:0001", "Microsoft 365 Business Standard", "Microsoft 365 Business Standard"},
	{1003, "CFQ7TTC0LH18", "CFQ7TTC0LH18:0001", "Microsoft 365 Business Basic", "Microsoft 365 Business Basic"},
	{1004, "CFQ7TTC0LHSV", "CFQ7TTC0LHSV:0001", "Exchange Online (Plan 1)", "Exchange Online (Plan 1)"},
	{1005, "CFQ7TTC0LFLX", "CFQ7TTC0LFLX:0001", "Microsoft 365 E3", "Microsoft 365 E3"},
}

// SeedSubscriptionsOf returns how many subscriptions the seed gives the
// tenant with seed index i (0-based, in tenant order).
func seedPlan(i int, generated bool) []struct {
	product, qty, status, billing int
	trial                         bool
} {
	type plan = struct {
		product, qty, status, billing int
		trial                         bool
	}
	if generated {
		return []plan{{2, 1 + i%7, StatusActive, BillingMonthly, false}}
	}
	ps := []plan{{0, 10 + i, StatusActive, BillingAnnual, false}, {3, 5, StatusActive, BillingMonthly, false}}
	switch i % 4 {
	case 1:
		ps = append(ps, plan{0, 3, StatusActive, BillingMonthly, false}) // a second Premium subscription
	case 2:
		ps = append(ps, plan{1, 25, StatusSuspended, BillingAnnual, false})
	case 3:
		ps = append(ps, plan{4, 2, StatusExpired, BillingAnnual, false}, plan{1, 1, StatusPending, BillingMonthly, true})
	}
	return ps
}

func (s *Server) seedSubscriptions() {
	start := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	id := FirstSubscriptionID
	seeded := 0
	for _, o := range simseed.Orgs {
		if o.InCrayon {
			seeded++
		}
	}
	for ti, t := range s.tenants {
		for _, p := range seedPlan(ti, ti >= seeded) {
			prod := catalogue[p.product]
			sub := subscription{
				ID: id, PublisherSubscriptionID: fmt.Sprintf("a0b1c2d3-0000-4000-8000-%012d", id),
				Publisher: objectRef{2, "Microsoft"}, Organization: objectRef{t.Organization.ID, t.Organization.Name},
				CustomerTenant: objectRef{t.ID, t.Name}, Product: prod, Quantity: p.qty,
				Name: prod.ItemName, Status: p.status, ProvisionType: 1, Subscriptions: []struct{}{},
				CreationDate: start.AddDate(0, 0, -ti).Format(time.RFC3339), BillingCycle: p.billing,
				IsTrial: p.trial, PriceType: 1, InvoiceProfile: t.InvoiceProfile, PartNumber: prod.PartNumber,
			}
			begin := start.AddDate(0, 0, -ti)
			end := begin.AddDate(1, 0, 0)
			sub.StartDate, sub.EndDate = ptr(begin.Format(time.RFC3339)), ptr(end.Format(time.RFC3339))
			if p.trial {
				sub.EndDate = ptr(begin.AddDate(0, 1, 0).Format(time.RFC3339))
			} else {
				// Trials carry no renewable term: AutoRenewEnabled stays null.
				sub.TermDuration, sub.AutoRenewEnabled = ptr("P1Y"), ptr(p.status == StatusActive)
			}
			s.subscriptions = append(s.subscriptions, sub)
			id++
		}
	}
}

// SetSubscriptionStatus changes a seeded subscription's status flags (tests).
func (s *Server) SetSubscriptionStatus(id, status int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.subscriptions {
		if s.subscriptions[i].ID == id {
			s.subscriptions[i].Status = status
			return true
		}
	}
	return false
}

// CapSubscriptionPages makes the subscription listing answer at most n
// items a page whatever PageSize asks (0: off), as a server with a silent
// page-size cap would.
func (s *Server) CapSubscriptionPages(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subsPageCap = n
}

// SubscriptionCount is the number of seeded subscriptions.
func (s *Server) SubscriptionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subscriptions)
}

func (s *Server) subscriptionRoutes(w http.ResponseWriter, r *http.Request, rest []string) {
	switch len(rest) {
	case 0:
		if allow(w, r, http.MethodGet) && s.authorized(w, r) {
			s.listSubscriptions(w, r)
		}
	case 1:
		n, err := strconv.Atoi(rest[0])
		if err != nil || n <= 0 || strconv.Itoa(n) != rest[0] {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if allow(w, r, http.MethodGet) && s.authorized(w, r) {
			s.getSubscription(w, n)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	q := query(r.URL.Query())
	n, bad := q.ints("OrganizationId", "CustomerTenantId", "PublisherId", "Statuses", "SortBy", "SortOrder", "Page", "PageSize")
	if len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "The request is invalid.", bad...)
		return
	}
	if org := n["OrganizationId"]; org != 0 && org != simseed.CrayonOrganizationID {
		writeError(w, http.StatusForbidden, fmt.Sprintf("Access to organization %d is denied.", org))
		return
	}
	page, size := max(n["Page"], 1), n["PageSize"]
	if size == 0 {
		size = defaultPageSize
	}
	if n["Page"] < 0 || size < 0 || size > s.opts.MaxPageSize {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Page must be positive and PageSize between 1 and %d.", s.opts.MaxPageSize))
		return
	}
	// Statuses is a flag set; 0 (or absent) is every status, as the SDK's All.
	statuses := n["Statuses"]
	if statuses == 0 {
		statuses = StatusAll
	}
	search := strings.ToLower(q.get("Search"))
	var trial *bool
	if v := q.get("IsTrial"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "The request is invalid.", ObjectError{ErrorCode: "IsTrial", Message: fmt.Sprintf("The value '%s' is not valid for IsTrial.", v), Parameters: map[string]string{}})
			return
		}
		trial = &b
	}
	s.mu.Lock()
	if s.subsPageCap > 0 {
		size = min(size, s.subsPageCap)
	}
	var hits []subscription
	for _, sub := range s.subscriptions {
		switch {
		case n["CustomerTenantId"] != 0 && sub.CustomerTenant.ID != n["CustomerTenantId"],
			n["PublisherId"] != 0 && sub.Publisher.ID != n["PublisherId"],
			sub.Status&statuses == 0,
			trial != nil && sub.IsTrial != *trial,
			search != "" && !strings.Contains(strings.ToLower(sub.Name), search) &&
				!strings.Contains(strings.ToLower(sub.Product.ItemName), search) &&
				!strings.Contains(strings.ToLower(sub.PartNumber), search):
			continue
		}
		hits = append(hits, sub)
	}
	s.mu.Unlock()
	if _, sorted := n["SortBy"]; sorted {
		key := func(x subscription) string {
			switch n["SortBy"] {
			case 1:
				return strings.ToLower(x.Product.ItemName)
			case 2:
				return x.CreationDate
			case 3:
				return deref(x.EndDate)
			}
			return strings.ToLower(x.Name)
		}
		slices.SortStableFunc(hits, func(a, b subscription) int {
			c := cmp.Compare(key(a), key(b))
			if n["SortOrder"] == 1 {
				c = -c
			}
			return cmp.Or(c, cmp.Compare(a.ID, b.ID))
		})
	}
	out := collection[subscription]{Items: []subscription{}, TotalHits: int64(len(hits))}
	if from := (page - 1) * size; from < len(hits) {
		out.Items = hits[from:min(from+size, len(hits))]
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSubscription(w http.ResponseWriter, id int) {
	s.mu.Lock()
	i := slices.IndexFunc(s.subscriptions, func(x subscription) bool { return x.ID == id })
	var sub subscription
	if i >= 0 {
		sub = s.subscriptions[i]
	}
	s.mu.Unlock()
	if i < 0 {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	d := subscriptionDetailed{subscription: sub, EffectiveStartDate: sub.StartDate, CommitmentEndDate: sub.EndDate, SuspensionReasons: []string{}}
	if sub.Status == StatusSuspended {
		d.SuspensionReasons = []string{"CustomerRequest"}
	}
	writeJSON(w, http.StatusOK, d)
}
