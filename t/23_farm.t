# Two web servers sharing one redis/memcache cache (run by
# t/run-httpd-tests.sh with a remote cache): a decision cached by one is
# used by the other, and a webhook delivery or purge on one denies on the
# other.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

my $cache = $ENV{PC_CACHE} || '';
my $remote = ($cache =~ /^(?:redis|memcache):/) ? 1 : 0;
plan tests => 11, need { 'a redis or memcache cache shared by two servers (PC_CACHE)' => $remote };
sim_reset();

# The second server: its own httpd, same simulator, same cache.
my $dir = serverroot() . '/logs/farm';
mkdir $dir;
my $port = do { my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0); $s->sockport };
my $moddir = $ENV{PC_MODDIR};
my $sim = sim_port();
open my $fh, '>', "$dir/httpd.conf" or die $!;
print $fh <<"EOC";
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule mime_module $moddir/mod_mime.so
LoadModule setenvif_module $moddir/mod_setenvif.so
LoadModule headers_module $moddir/mod_headers.so
LoadModule socache_redis_module $moddir/mod_socache_redis.so
LoadModule socache_memcache_module $moddir/mod_socache_memcache.so
LoadModule pingone_consent_module $ENV{PC_MODULE}
TypesConfig /etc/mime.types
DocumentRoot "@{[serverroot()]}/htdocs"
PingOneEnvironmentID abcdef01-2345-4678-9abc-def012345678
PingOneAPIBaseURL http://127.0.0.1:$sim/v1
PingOneAuthBaseURL http://127.0.0.1:$sim
PingOneClientID c0ffee00-1111-4222-8333-444455556666
PingOneClientSecret s3cr3t-worker-secret
PingOneConsentCache $cache
PingOneConsentCacheKey file:@{[serverroot()]}/conf/cache.key
PingOneConsentCacheTTL 60 10
SetEnvIf X-Test-Sub "^(.+)\$" OIDC_CLAIM_sub=\$1
<Location />
    Require all granted
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication a0000000-0000-4000-8000-000000000001
    PingOneConsentScopes openid
    Header always set X-PC-Source "%{PINGONE_CONSENT_SOURCE}e"
</Location>
EOC
close $fh;
my $httpd = Apache::Test::vars('httpd');
system($httpd, '-f', "$dir/httpd.conf", '-k', 'start') == 0 or die "second httpd did not start\n";
my $http = HTTP::Tiny->new(timeout => 10);
sub on_b { $http->get("http://127.0.0.1:$port/index.html", {headers => {'X-Test-Sub' => $_[0]}}) }
sub on_a { req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $_[0]}) }
for (1 .. 100) { last if on_b('x')->{status} != 599; sleep 0.05 }

my ($f, $g) = ('ea000000-0000-4000-8000-000000000001', 'ea000000-0000-4000-8000-000000000002');
sim(POST => '/__control/consents', {user_id => $_, application_id => $PCTest::APP1, scope => ['openid']}) for $f, $g;

ok t_cmp(on_b($f)->{headers}{'x-pc-source'}, 'pingone', 'server B asks PingOne');
ok t_cmp(on_a($f)->{headers}{'x-pc-source'}, 'cache', 'server A answers from the shared cache');

# Revoke + webhook delivered to A: B denies.
sim(POST => '/__control/revoke', {user_id => $f, application_id => $PCTest::APP1});
ok t_cmp(on_b($f)->{status}, 200, 'revoked, before the webhook: B still allows (cached)');
my $hp = Apache::TestRequest::hostport();
my $res = sim(POST => '/__control/webhook', {url => "http://$hp/pingone/webhook",
    headers => {Authorization => 'Bearer hook-secret-0123456789'},
    events => [{type => 'OAUTH_CONSENT.REVOKED', user_id => $f, application_id => $PCTest::APP1}]});
ok t_cmp($res->{status}, 200, 'webhook delivered to A');
ok t_cmp(on_b($f)->{status}, 403, 'B denies on the next request');

# Purge-all on A reaches B within a second.
on_b($g);
ok t_cmp(on_b($g)->{headers}{'x-pc-source'}, 'cache', 'g cached on B');
my $r = admin_post("http://$hp/pingone/admin", {action => 'purge-all'});
ok t_cmp($r->{status}, 200, 'purge-all on A');
sleep 1.2;
ok t_cmp(on_b($g)->{headers}{'x-pc-source'}, 'pingone', 'B asks PingOne again after the purge');

# A webhook on A while B's lookup of the same user is still out at
# PingOne: B's answer predates the revoke and must not stay in the shared
# cache (B finds A's tombstone there).
my $h = 'ea000000-0000-4000-8000-000000000003';
sim(POST => '/__control/consents', {user_id => $h, application_id => $PCTest::APP1, scope => ['openid']});
sim(POST => '/__control/reset-counts');
my $pid = slow_lookup(1200, sub { on_b($h)->{status} == 200 });
sim(POST => '/__control/revoke', {user_id => $h, application_id => $PCTest::APP1});
$res = sim(POST => '/__control/webhook', {url => "http://$hp/pingone/webhook",
    headers => {Authorization => 'Bearer hook-secret-0123456789'},
    events => [{type => 'OAUTH_CONSENT.REVOKED', user_id => $h, application_id => $PCTest::APP1}]});
ok t_cmp($res->{status}, 200, 'webhook to A while B is asking PingOne');
waitpid($pid, 0);
ok t_cmp($? >> 8, 0, "B's in-flight request: allowed by the answer it got");
ok t_cmp(on_a($h)->{status}, 403, 'the next request (on A) is denied: B did not keep the stale answer');

system($httpd, '-f', "$dir/httpd.conf", '-k', 'stop');
sleep 0.5;
