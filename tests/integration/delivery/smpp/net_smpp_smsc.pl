#!/usr/bin/perl
# An SMSC built on Net::SMPP (Debian: libnet-smpp-perl) for the bind tests:
# the smpp34 server accepts every bind, this one checks the password.
# Usage: net_smpp_smsc.pl SYSTEM_ID PASSWORD. Prints "PORT n" once listening,
# then "BIND system_id status" per bind. Ends on stdin EOF, or after 120 s so
# that a crashed test cannot leave it running.
use strict;
use warnings;
use IO::Select;
use Net::SMPP;

$| = 1;
my ($want_id, $want_password) = @ARGV;
alarm 120;
my $server = Net::SMPP->new_listen('127.0.0.1', port => 0, smpp_version => 0x34)
    or die "listen: $!";
print "PORT ", $server->sockport, "\n";

my $select = IO::Select->new($server, \*STDIN);
my $message = 0;
while (1) {
    for my $ready ($select->can_read) {
        if ($ready == \*STDIN) {
            my $buf = '';
            exit 0 if !sysread(STDIN, $buf, 1);
        } elsif ($ready == $server) {
            my $conn = $server->accept or next;
            $select->add($conn);
        } else {
            my $pdu = $ready->read_pdu;
            if (!$pdu) { $select->remove($ready); $ready->close; next; }
            my $cmd = $pdu->{cmd};
            if ($cmd == Net::SMPP::CMD_bind_transceiver) {
                my $ok = $pdu->{system_id} eq $want_id && $pdu->{password} eq $want_password;
                my $status = $ok ? 0 : 0x0E;    # ESME_RINVPASWD
                $ready->bind_transceiver_resp(seq => $pdu->{seq}, status => $status,
                                              system_id => 'NETSMPP');
                print "BIND $pdu->{system_id} $status\n";
                if (!$ok) { $select->remove($ready); $ready->close; }
            } elsif ($cmd == Net::SMPP::CMD_enquire_link) {
                $ready->enquire_link_resp(seq => $pdu->{seq});
            } elsif ($cmd == Net::SMPP::CMD_submit_sm) {
                $message++;
                $ready->submit_sm_resp(seq => $pdu->{seq}, message_id => "netsmpp-$message");
                print "SUBMIT $pdu->{destination_addr}\n";
            } elsif ($cmd == Net::SMPP::CMD_unbind) {
                $ready->unbind_resp(seq => $pdu->{seq});
                $select->remove($ready);
                $ready->close;
            }
        }
    }
}
