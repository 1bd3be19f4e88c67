package etcd

import (
	"errors"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/faultline-dev/faultline/engines"
)

func answer(node string, id, leader, term uint64) memberStatus {
	return memberStatus{
		ep: engines.Endpoint{Node: node},
		id: id,
		res: (*clientv3.StatusResponse)(&pb.StatusResponse{
			Header: &pb.ResponseHeader{MemberId: id}, Leader: leader, RaftTerm: term,
		}),
	}
}

func silent(node string) memberStatus {
	return memberStatus{ep: engines.Endpoint{Node: node}, err: errors.New("context deadline exceeded")}
}

func TestLeaderOf(t *testing.T) {
	names := map[uint64]string{1: "n1", 2: "n2", 3: "n3"}
	tests := []struct {
		name     string
		statuses []memberStatus
		want     engines.Leadership
		wantErr  error // nil, ErrNoLeader, or errAny
	}{
		{name: "agreement", statuses: []memberStatus{answer("n1", 1, 2, 4), answer("n2", 2, 2, 4), answer("n3", 3, 2, 4)}, want: engines.Leadership{Node: "n2", Term: 4}},
		{name: "an isolated member believes in an old leader", statuses: []memberStatus{answer("n1", 1, 1, 3), answer("n2", 2, 3, 5), answer("n3", 3, 3, 5)}, want: engines.Leadership{Node: "n3", Term: 5}},
		{name: "the leader does not answer but is named", statuses: []memberStatus{silent("n1"), answer("n2", 2, 1, 7), answer("n3", 3, 1, 7)}, want: engines.Leadership{Node: "n1", Term: 7}},
		{name: "election under way", statuses: []memberStatus{silent("n1"), answer("n2", 2, 0, 8), answer("n3", 3, 0, 8)}, want: engines.Leadership{Term: 8}, wantErr: ErrNoLeader},
		{name: "a leaderless member in the newest term wins over a claim in it", statuses: []memberStatus{answer("n2", 2, 0, 8), answer("n3", 3, 3, 8)}, want: engines.Leadership{Node: "n3", Term: 8}},
		{name: "nobody answers", statuses: []memberStatus{silent("n1"), silent("n2")}, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := leaderOf(tt.statuses, names)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr == errAny && err == nil:
				t.Fatal("no error")
			case tt.wantErr == ErrNoLeader && !errors.Is(err, ErrNoLeader):
				t.Fatalf("err = %v, want ErrNoLeader", err)
			}
			if got != tt.want {
				t.Errorf("leader = %+v, want %+v", got, tt.want)
			}
		})
	}
}

var errAny = errors.New("any error")
