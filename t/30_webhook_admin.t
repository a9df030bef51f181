# Revocation reaches the web tier: a PingOne webhook delivery drops the
# user's cached decisions (authenticated by its Authorization header), and
# the admin endpoint shows status and purges.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use JSON::PP;

plan tests => 29;
sim_reset();

sub as { my ($id) = @_; req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $id}) }
my $hp = Apache::TestRequest::hostport();
my $hook = "http://$hp/pingone/webhook";
my $auth = 'Bearer hook-secret-0123456789';
my $http = HTTP::Tiny->new(timeout => 10);
sub post { my ($url, $body, %h) = @_; $http->request('POST', $url, {content => $body, headers => {'Content-Type' => 'application/json', %h}}) }
sub deliver {
    my ($user, %o) = @_;
    return sim(POST => '/__control/webhook', {
        url => $hook, headers => {Authorization => $o{auth} // $auth},
        format => $o{format} // 'json',
        events => [{type => $o{type} // 'OAUTH_CONSENT.REVOKED', user_id => $user,
                    application_id => $PCTest::APP1}]});
}

my ($u1, $u2) = ('e8000000-0000-4000-8000-000000000001', 'e8000000-0000-4000-8000-000000000002');
for my $u ($u1, $u2) {
    sim(POST => '/__control/consents', {user_id => $u, application_id => $PCTest::APP1, scope => ['openid']});
    as($u);
}
ok t_cmp(as($u1)->{headers}{'x-pc-source'}, 'cache', 'u1 cached');

# Revoked at PingOne: still allowed from the cache until the webhook.
sim(POST => '/__control/revoke', {user_id => $u1, application_id => $PCTest::APP1});
ok t_cmp(as($u1)->{status}, 200, 'revoked, not yet pushed: cached allow');

# A delivery without the right Authorization changes nothing.
my $res = deliver($u1, auth => 'Bearer wrong-secret-000000000');
ok t_cmp($res->{status}, 401, 'wrong Authorization -> 401');
$res = post($hook, '[]');
ok t_cmp($res->{status}, 401, 'no Authorization -> 401');
ok t_cmp(as($u1)->{headers}{'x-pc-source'}, 'cache', 'and the entry is still cached');

# The real delivery drops u1's decisions; u2 keeps its cache entry.
$res = deliver($u1);
ok t_cmp($res->{status}, 200, 'delivery accepted (200 only after the drop)');
my $answer = eval { decode_json($res->{body}) } || {};
ok t_cmp($answer->{users_dropped}, 1, 'one user dropped');
my $r = as($u1);
ok t_cmp($r->{status}, 403, 'next request of u1: denied');
ok t_cmp(as($u2)->{headers}{'x-pc-source'}, 'cache', 'u2 untouched');

# ND-JSON and user-lifecycle events.
my $u3 = 'e8000000-0000-4000-8000-000000000003';
sim(POST => '/__control/consents', {user_id => $u3, application_id => $PCTest::APP1, scope => ['openid']});
as($u3);
ok t_cmp(as($u3)->{headers}{'x-pc-source'}, 'cache', 'u3 cached');
$res = deliver($u3, format => 'ndjson', type => 'USER.DISABLED');
ok t_cmp($res->{status}, 200, 'ND-JSON USER.DISABLED delivery');
ok t_cmp(as($u3)->{headers}{'x-pc-source'}, 'pingone', 'dropped: asked PingOne again');

# Other event types and bad deliveries change nothing.
as($u2);
$res = deliver($u2, type => 'USER.CREATED');
ok t_cmp($res->{status}, 200, 'unknown-to-us event type: 200');
ok t_cmp((eval { decode_json($res->{body}) } || {})->{ignored}, 1, 'counted as ignored');
ok t_cmp(as($u2)->{headers}{'x-pc-source'}, 'cache', 'u2 still cached');
$res = post($hook, '[{"action":', Authorization => $auth);
ok t_cmp($res->{status}, 400, 'malformed JSON -> 400');
$res = post($hook, '[' . ('{},' x 400000) . '{}]', Authorization => $auth);
ok t_cmp($res->{status}, 413, 'body over 1 MiB -> 413');
$res = $http->get($hook, {headers => {Authorization => $auth}});
ok t_cmp($res->{status}, 405, 'GET -> 405');
ok t_cmp(as($u2)->{headers}{'x-pc-source'}, 'cache', 'u2 still cached after bad deliveries');

# Admin endpoint.
my $admin = "http://$hp/pingone/admin";
$res = $http->get($admin);
ok t_cmp($res->{status}, 200, 'admin status');
my $st = eval { decode_json($res->{content}) } || {};
ok t_cmp($st->{counters}{hits} > 0 ? 1 : 0, 1, "status shows counters (hits $st->{counters}{hits})");
ok t_cmp($st->{counters}{webhook_refused} >= 3 ? 1 : 0, 1, 'webhook counters (refused deliveries counted)');
ok t_cmp($st->{pingone_latency_ms}{p50} >= 1 ? 1 : 0, 1, 'PingOne latency percentiles');
ok t_cmp($st->{token_expires_in} > 0 ? 1 : 0, 1, 'token expiry, never the token');
ok t_cmp($st->{cache}{entries} > 0 ? 1 : 0, 1, "cache entries counted ($st->{cache}{entries})");
$res = admin_post($admin, {action => 'purge-user', user => $u2});
ok t_cmp($res->{status}, 200, 'purge-user');
ok t_cmp(as($u2)->{headers}{'x-pc-source'}, 'pingone', 'purged user asks PingOne again');
as($u2);
$res = admin_post($admin, {action => 'purge-all'});
ok t_cmp($res->{status}, 200, 'purge-all');
ok t_cmp(as($u2)->{headers}{'x-pc-source'}, 'pingone', 'after purge-all: PingOne again');
