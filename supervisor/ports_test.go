package supervisor

import (
	"reflect"
	"strings"
	"testing"
)

// A /proc/net/tcp6 table: a listener on :::3000, a TIME_WAIT connection on
// 9229 and a listener on ::1:9229.
const tcp6Table = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:240D 0000000000000000FFFF00000100007F:C350 06 00000000:00000000 03:00000DD4 00000000     0        0 0 3 0000000000000000
   2: 00000000000000000000000001000000:240D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0
`

// A /proc/net/tcp table: a listener on 127.0.0.1:3000 and an established
// connection from port 3000.
const tcpTable = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 5152 1 0000000000000000 20 4 30 10 -1
`

func TestParseListeners(t *testing.T) {
	cases := []struct {
		name  string
		table string
		want  []listener
	}{
		{name: "tcp6", table: tcp6Table, want: []listener{{port: 3000, inode: 4242}, {port: 9229, inode: 777}}},
		{name: "tcp", table: tcpTable, want: []listener{{port: 3000, inode: 5151}}},
		{name: "header only", table: strings.SplitAfter(tcpTable, "\n")[0], want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseListeners(strings.NewReader(tc.table))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseListenersRejectsMalformedPort(t *testing.T) {
	table := "header\n   0: 0100007F:XYZ 00000000:0000 0A 0:0 0:0 0 0 0 1 1\n"
	if _, err := parseListeners(strings.NewReader(table)); err == nil {
		t.Fatal("no error for a malformed port")
	}
}

func TestBusyPorts(t *testing.T) {
	listeners := []listener{{port: 3000, inode: 1}, {port: 3000, inode: 2}, {port: 8080, inode: 3}}
	got := busyPorts([]int{3000, 9229}, listeners)
	want := map[int][]uint64{3000: {1, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
