package main

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestClusterOptionsRejectBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		ports          string
		topics, config []string
	}{
		"port not a number":     {ports: "abc"},
		"port out of range":     {ports: "70000"},
		"topic without count":   {ports: "0", topics: []string{"audit"}},
		"topic with zero count": {ports: "0", topics: []string{"audit=0"}},
		"config without value":  {ports: "0", config: []string{"message.max.bytes"}},
	} {
		if _, err := clusterOptions(tc.ports, tc.topics, tc.config); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The e2e test relies on the seeded topic's partition count and on the raised message limit
// (the agent produces messages of up to 8 MiB; kfake's default is 1 MiB).
func TestClusterServesSeededTopicAndLargeMessages(t *testing.T) {
	opts, err := clusterOptions("0", []string{"audit=6"}, []string{"message.max.bytes=16777216"})
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	client, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.ProducerBatchMaxBytes(16<<20), kgo.ConsumeTopics("audit"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	req := kmsg.NewPtrMetadataRequest()
	topic := kmsg.NewMetadataRequestTopic()
	topic.Topic = kmsg.StringPtr("audit")
	req.Topics = append(req.Topics, topic)
	resp, err := req.RequestWith(ctx, client)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 6 {
		t.Fatalf("metadata of audit: %d topics, want 1 with 6 partitions", len(resp.Topics))
	}

	big := incompressible(3 << 20)
	if err := client.ProduceSync(ctx, &kgo.Record{Topic: "audit", Key: []byte("k"), Value: big}).FirstErr(); err != nil {
		t.Fatalf("produce a 3 MiB message: %v", err)
	}
	fetches := client.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	records := fetches.Records()
	if len(records) != 1 || len(records[0].Value) != len(big) || string(records[0].Key) != "k" {
		t.Fatalf("consumed %d records, want the one 3 MiB record with key k", len(records))
	}
}

// Without -broker-config the same message is refused: the flag is what makes the e2e run work.
func TestClusterRefusesLargeMessagesByDefault(t *testing.T) {
	opts, err := clusterOptions("0", []string{"audit=1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	client, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ProducerBatchMaxBytes(16<<20),
		kgo.RecordRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	big := incompressible(3 << 20)
	if err := client.ProduceSync(ctx, &kgo.Record{Topic: "audit", Value: big}).FirstErr(); err == nil {
		t.Fatal("a 3 MiB message was accepted with the default message.max.bytes (1 MiB)")
	}
}

// incompressible returns n pseudo-random bytes: the broker checks the size of the (compressed)
// batch, and the client compresses by default.
func incompressible(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
