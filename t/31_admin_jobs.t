# Admin actions that talk to PingOne: the live consent by ID, and watching
# an OATH token revoke job (DONE drops decisions, FAILED drops nothing, a
# job that never finishes is reported after a bounded wait); the counters in
# mod_status.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use JSON::PP;

plan tests => 23;
sim_reset();

sub as { my ($id) = @_; req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $id}) }
my $hp = Apache::TestRequest::hostport();
my $admin = "http://$hp/pingone/admin";
my $http = HTTP::Tiny->new(timeout => 60);
sub act { my $r = admin_post($admin, {@_}); ($r, eval { decode_json($r->{content}) } || {}) }

# Live consent by ID.
my $c = sim(POST => '/__control/consents', {user_id => $U{carol}, application_id => $PCTest::APP1,
                                             scope => ['openid', 'profile']});
my ($r, $j) = act(action => 'consent', user => $U{carol}, consent => $c->{id});
ok t_cmp($r->{status}, 200, 'consent: 200');
ok t_cmp($j->{status}, 'ACCEPTED', 'live status');
ok t_cmp($j->{scopes}, 'openid profile', 'live scopes');
ok t_cmp($j->{application}{name}, 'Web Portal', 'expanded application name');
($r) = act(action => 'consent', user => $U{carol}, consent => 'c9999999-0000-4000-8000-000000000000');
ok t_cmp($r->{status}, 404, 'unknown consent: 404');
($r) = act(action => 'consent', user => '../x', consent => $c->{id});
ok t_cmp($r->{status}, 400, 'non-UUID user: 400');

# Whatever PingOne names an application (quotes, backslashes, control
# characters, non-ASCII), the admin endpoint answers valid JSON with it.
my $odd = "Caf\x{e9} \"App\" \\ tab\there \x{1} \x{2603} end";
my $c3 = sim(POST => '/__control/consents', {user_id => $U{carol}, application_id => 'a0000000-0000-4000-8000-000000000003',
                                              scope => ['openid']});
($r, $j) = act(action => 'consent', user => $U{carol}, consent => $c3->{id});
ok t_cmp($r->{status}, 200, 'consent of an oddly named application: 200');
my $doc = eval { JSON::PP->new->utf8->decode($r->{content}) };
ok t_cmp(defined $doc ? 1 : 0, 1, 'the answer is valid JSON') or print "# $r->{content}\n";
ok t_cmp($doc && $doc->{application}{name}, $odd, 'the name comes back exactly');

# Job DONE: decisions dropped (all), revoked count reported.
my $u = 'e9000000-0000-4000-8000-000000000001';
sim(POST => '/__control/consents', {user_id => $u, application_id => $PCTest::APP1, scope => ['openid']});
as($u);
ok t_cmp(as($u)->{headers}{'x-pc-source'}, 'cache', 'cached before the job');
my $job = sim(POST => '/__control/jobs', {statuses => ['IN_PROGRESS', 'IN_PROGRESS', 'DONE'], revoked => 5});
($r, $j) = act(action => 'watch-job', job => $job->{id});
ok t_cmp($r->{status}, 200, 'watch DONE job: 200');
ok t_cmp($j->{revoked}, 5, 'result.revoked reported');
ok t_cmp($j->{polls}, 3, 'polled until DONE');
ok t_cmp(as($u)->{headers}{'x-pc-source'}, 'pingone', 'cache dropped after DONE');

# Job FAILED: reason reported, nothing dropped.
as($u);
$job = sim(POST => '/__control/jobs', {statuses => ['IN_PROGRESS', 'FAILED'], reason => 'device offline'});
($r, $j) = act(action => 'watch-job', job => $job->{id});
ok t_cmp($r->{status}, 200, 'watch FAILED job: 200');
ok t_cmp($j->{reason}, 'device offline', 'reason reported');
ok t_cmp($j->{dropped}, 'none', 'nothing dropped');
ok t_cmp(as($u)->{headers}{'x-pc-source'}, 'cache', 'cache kept after FAILED');

# A job that never finishes: bounded wait, reported.
$job = sim(POST => '/__control/jobs', {statuses => ['IN_PROGRESS']});
($r, $j) = act(action => 'watch-job', job => $job->{id}, timeout => 2);
ok t_cmp($r->{status}, 504, 'never-ending job: 504 after the timeout');
ok t_cmp($j->{finished}, JSON::PP::false, 'reported as not finished');
ok t_cmp(as($u)->{headers}{'x-pc-source'}, 'cache', 'nothing dropped');

# mod_status shows the counters.
$r = $http->get("http://$hp/server-status?auto");
ok t_cmp($r->{status}, 200, 'server-status');
ok t_cmp($r->{content}, qr/^PingOneConsenthits: \d+$/m, 'module counters in server-status');
