package crayon

import (
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/partnerhub/gateway/internal/model"
)

// subscriptionStatusFlags maps each SubscriptionStatus flag to its name.
var subscriptionStatusFlags = map[int]string{
	1: model.SubscriptionActive, 2: model.SubscriptionSuspended, 4: model.SubscriptionDeleted,
	8: model.SubscriptionCustomerCancellation, 16: model.SubscriptionConverted, 32: model.SubscriptionExpired,
	64: model.SubscriptionPending, 128: model.SubscriptionCancelled, 256: model.SubscriptionDisabled,
}

// StatusFlag is the SubscriptionStatus flag of a normalized status (0 for
// none it knows).
func StatusFlag(status string) int {
	for flag, name := range subscriptionStatusFlags {
		if name == status {
			return flag
		}
	}
	return 0
}

func subscriptionStatus(flags int) string {
	if flags > 0 && bits.OnesCount(uint(flags)) == 1 {
		if name, ok := subscriptionStatusFlags[flags]; ok {
			return name
		}
	}
	// None, a combination, or a flag newer than this client.
	return model.SubscriptionUnknown
}

var billingCycles = map[int]string{
	1: model.BillingMonthly, 2: model.BillingAnnual, 3: model.BillingNone, 4: model.BillingOneTime,
	5: model.BillingBiAnnually, 7: model.BillingTwoYears, 8: model.BillingThreeYears, 9: model.BillingQuarterly,
}

type productDTO struct {
	ID                 int    `json:"Id"`
	PartNumber         string `json:"PartNumber"`
	PublisherProductID string `json:"PublisherProductId"`
	ItemLegalName      string `json:"ItemLegalName"`
	ItemName           string `json:"ItemName"`
}

// subscriptionDTO is Subscription / SubscriptionDetailed; only what the
// gateway shows is decoded.
type subscriptionDTO struct {
	ID                      int         `json:"Id"`
	PublisherSubscriptionID string      `json:"PublisherSubscriptionId"`
	CustomerTenant          *refDTO     `json:"CustomerTenant"`
	Product                 *productDTO `json:"Product"`
	Quantity                int         `json:"Quantity"`
	Name                    string      `json:"Name"`
	Status                  int         `json:"Status"`
	BillingCycle            int         `json:"BillingCycle"`
	IsTrial                 bool        `json:"IsTrial"`
	StartDate               *isoTime    `json:"StartDate"`
	EndDate                 *isoTime    `json:"EndDate"`
	PartNumber              string      `json:"PartNumber"`
	TermDuration            string      `json:"TermDuration"`
	// AutoRenewEnabled is null on subscriptions without a renewable term.
	AutoRenewEnabled *bool `json:"AutoRenewEnabled"`
}

func (s subscriptionDTO) model() model.Subscription {
	m := model.Subscription{
		ID:                      strconv.Itoa(s.ID),
		PublisherSubscriptionID: strings.ToLower(strings.TrimSpace(s.PublisherSubscriptionID)),
		Name:                    strings.TrimSpace(s.Name),
		Quantity:                s.Quantity,
		Status:                  subscriptionStatus(s.Status),
		BillingCycle:            model.BillingUnknown,
		TermDuration:            strings.TrimSpace(s.TermDuration),
		AutoRenew:               s.AutoRenewEnabled,
		IsTrial:                 s.IsTrial,
		PartNumber:              strings.TrimSpace(s.PartNumber),
		ProductName:             strings.TrimSpace(s.Name),
	}
	if s.CustomerTenant != nil && s.CustomerTenant.ID > 0 {
		m.TenantID = strconv.Itoa(s.CustomerTenant.ID)
	}
	if p := s.Product; p != nil {
		if n := strings.TrimSpace(p.ItemName); n != "" {
			m.ProductName = n
		}
		if pn := strings.TrimSpace(p.PartNumber); pn != "" {
			m.PartNumber = pn
		}
	}
	if c, ok := billingCycles[s.BillingCycle]; ok {
		m.BillingCycle = c
	}
	m.TermStart, m.TermEnd = timePtr(s.StartDate), timePtr(s.EndDate)
	return m
}

func timePtr(t *isoTime) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}
