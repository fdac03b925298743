package gdap

import (
	"bytes"
	"fmt"
	"testing"
)

// gdapList is a realistic Customers answer: n Azure Table entities.
func gdapList(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"CurrentEntitiesSynced":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"TenantDomain":"customer%04d.onmicrosoft.com","CompanyName":"Customer %04d AB","PrimaryContact":"admin%04d@customer%04d.example",`+
			`"FirstName":"Anna","LastName":"Lindqvist","PartitionKey":"918c6a1a-339c-43ec-a8ea-e0343eea7e0b",`+
			`"RowKey":"06e8cf15-610a-4e63-b1ad-%012d","Timestamp":null,"ETag":{}}`, i, i, i, i, i)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkDecodeGDAPCustomers(b *testing.B) {
	body := gdapList(500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		out, err := decodeCustomers(bytes.NewReader(body))
		if err != nil || len(out) != 500 {
			b.Fatal(err, len(out))
		}
	}
}
