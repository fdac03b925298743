package auth

import (
	"testing"
	"time"
)

func TestVerifiedTokensNeverOutliveTheToken(t *testing.T) {
	var c verifiedTokens
	now := time.Now()
	p := Principal{Subject: "alice", Permissions: []string{"customers:read"}}
	c.put("tok-a", p, now.Add(time.Minute), now)
	if got, ok := c.get("tok-a", now.Add(59*time.Second)); !ok || got.Subject != "alice" {
		t.Fatalf("verified token not remembered: %+v %v", got, ok)
	}
	if _, ok := c.get("tok-a", now.Add(time.Minute)); ok {
		t.Fatal("a token was accepted at its expiry")
	}
	if _, ok := c.get("tok-b", now); ok {
		t.Fatal("an unseen token was accepted")
	}
	c.put("tok-long", p, now.Add(24*time.Hour), now)
	if _, ok := c.get("tok-long", now.Add(verifiedTTL)); ok {
		t.Fatal("a long-lived token skipped re-verification past verifiedTTL")
	}
}
