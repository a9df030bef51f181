# A purge that lands while a lookup is already asking PingOne: the answer
# the lookup brings back may predate the revoke.  It decides that one
# request, but it must not stay cached and undo the purge for a whole TTL.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use Time::HiRes qw(sleep);

plan tests => 12;
sim_reset();

sub as { my ($id) = @_; req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $id}) }
my $hp = Apache::TestRequest::hostport();
my $http = HTTP::Tiny->new(timeout => 10);
sub deliver {
    my ($user) = @_;
    return sim(POST => '/__control/webhook', {
        url => "http://$hp/pingone/webhook",
        headers => {Authorization => 'Bearer hook-secret-0123456789'},
        events => [{type => 'OAUTH_CONSENT.REVOKED', user_id => $user,
                    application_id => $PCTest::APP1}]});
}
# A working token first (the reset above forgot the simulator's tokens):
# the slow answer below must be the consent list, not a 401.
as($U{bob});

# 1. Revoked at PingOne and pushed by the webhook while the lookup is out.
my $u = 'eb000000-0000-4000-8000-000000000001';
sim(POST => '/__control/consents', {user_id => $u, application_id => $PCTest::APP1, scope => ['openid']});
sim(POST => '/__control/reset-counts');
my $lm = log_mark();
my $pid = slow_lookup(1200, sub { as($u)->{status} == 200 });
ok t_cmp(counts()->{consents}, 1, 'the lookup is at PingOne');
sim(POST => '/__control/revoke', {user_id => $u, application_id => $PCTest::APP1});
my $res = deliver($u);
ok t_cmp($res->{status}, 200, 'webhook delivered while the lookup is out');
waitpid($pid, 0);
ok t_cmp($? >> 8, 0, 'the in-flight request is decided by the answer it got (200)');
my $r = as($u);
ok t_cmp($r->{status}, 403, 'the next request is denied: the stale answer was not kept');
ok t_cmp($r->{headers}{'x-pc-source'} // '', qr/^(?:|\(null\))$/, 'no PINGONE_CONSENT_SOURCE on a deny');
ok t_cmp(counts()->{consents}, 2, 'it asked PingOne again');
my $log = log_since($lm, qr/PC00025/);
ok t_cmp($log, qr/PC00025: user \Q$u\E was purged while PingOne was being asked/,
         'logged: the answer decides that request only');

# 2. An admin purge during the lookup, consent unchanged: the answer is
#    right, but it is not cached either (one more PingOne call, no harm).
my $v = 'eb000000-0000-4000-8000-000000000002';
sim(POST => '/__control/consents', {user_id => $v, application_id => $PCTest::APP1, scope => ['openid']});
sim(POST => '/__control/reset-counts');
$pid = slow_lookup(1200, sub { as($v)->{status} == 200 });
$r = admin_post("http://$hp/pingone/admin", {action => 'purge-user', user => $v});
ok t_cmp($r->{status}, 200, 'admin purge during the lookup');
waitpid($pid, 0);
ok t_cmp($? >> 8, 0, 'in-flight request allowed');
ok t_cmp(as($v)->{headers}{'x-pc-source'}, 'pingone', 'next request asks PingOne again');
ok t_cmp(as($v)->{headers}{'x-pc-source'}, 'cache', 'and that answer is cached as usual');

# 3. A purge well before the lookup does not stop caching (only races do).
my $w = 'eb000000-0000-4000-8000-000000000003';
sim(POST => '/__control/consents', {user_id => $w, application_id => $PCTest::APP1, scope => ['openid']});
admin_post("http://$hp/pingone/admin", {action => 'purge-user', user => $w});
sleep 1.2;   # past the tombstone's clock-skew slack
as($w);
ok t_cmp(as($w)->{headers}{'x-pc-source'}, 'cache', 'purge long before: the answer is cached');
