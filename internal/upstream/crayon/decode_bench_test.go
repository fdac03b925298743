package crayon

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/partnerhub/gateway/internal/upstream"
)

// crayonPage is a realistic GET customertenants answer: 100 tenants as
// Crayon (and crayonsim) send them, with the fields the client ignores.
func crayonPage(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Items":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"Id":%d,"Name":"Example Customer %03d","Publisher":{"Id":2,"Name":"Microsoft"},"Program":{"Id":1,"Name":"CSP"},`+
			`"PublisherCustomerId":"00000000-0000-4000-8000-%012d","ExternalPublisherCustomerId":"00000000-0000-4000-8000-%012d",`+
			`"Domain":"examplecustomer%03d.onmicrosoft.com","DomainPrefix":"examplecustomer%03d","Reference":"EXT-%03d","CustomerTenantType":2,"EntityStatus":0,`+
			`"Organization":{"Id":4703,"Name":"PartnerHub Reseller AB","ParentId":1,"CrayonCompanyName":"Crayon AB","AccountNumber":100470},`+
			`"InvoiceProfile":{"Id":57,"Name":"Default invoice profile"},"Consumer":null,"ResellerMarkup":0.0,"DefaultSubscriptionPriceType":1,"Agreement":null}`,
			1001+i, i, i, i, i, i, i)
	}
	fmt.Fprintf(&b, `],"TotalHits":%d}`, n)
	return b.Bytes()
}

func BenchmarkDecodeCrayonPage(b *testing.B) {
	body := crayonPage(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var col collection[tenantDTO]
		if err := upstream.DecodeJSON(bytes.NewReader(body), &col); err != nil || len(col.Items) != 100 {
			b.Fatal(err, len(col.Items))
		}
	}
}
