# The activity feed when PingOne's audit API fails, on a server of its own
# (allow TTL 2 s, PingOneConsentFeedTTL 3600): while the feed is healthy
# an allow outlives the allow TTL; a 429 backs the poller off for its
# Retry-After; a 403 names the missing audit role; with the audit
# endpoint answering 500 the feed turns unhealthy and an allow older than
# the allow TTL is asked again, not served for the feed TTL.  Its
# PingOneRevocationEvents list is also what the webhook goes by.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use JSON::PP;
use Time::HiRes qw(time sleep);

# Once per `make test`: in the event MPM's run of the suite (t/50_feed.t
# covers the poller under every MPM).
my ($mpm) = do { local (@ARGV, $/) = (serverroot() . '/conf/inherit.conf'); <> } =~ /mpm_(\w+)_module/;
plan tests => 19, need { 'the event MPM run of the suite' => ($mpm eq 'event' ? 1 : 0) };
sim_reset();
my $app = $PCTest::APP1;
my $x = 'f0000000-0000-4000-8000-000000960000';
my $y = 'f0000000-0000-4000-8000-000000960001';
my @z = map { sprintf 'f0000000-0000-4000-8000-%012d', 960002 + $_ } 0 .. 4;
sim(POST => '/__control/bulk-users', {count => 7, start => 960000, application => $app, scope => ['openid']});

my $srv = extra_server(name => 'feedfail', conf => <<"EOC");
PingOneActivityPoll 1
PingOneConsentCacheTTL 2 2
PingOneConsentFeedTTL 3600
PingOneRevocationEvents OAUTH_CONSENT.REVOKED CUSTOM.GONE
<Location /pingone/webhook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "Bearer feed-hook-secret-0123"
    Require all granted
</Location>
<Location /pingone/admin>
    SetHandler pingone-consent-admin
    Require all granted
</Location>
@{[gated_location('/index.html', $app)]}
EOC

sub get { $srv->{get}->('/index.html', $_[0]) }
sub status { decode_json($srv->{get}->('/pingone/admin')->{content} || '{}') }
sub feed { (status()->{activity_feed}{environments} || [{}])->[0] }
sub logged { $srv->{error_log}->() =~ $_[0] ? 1 : 0 }
sub wait_for {
    my ($secs, $cond) = @_;
    my $t0 = time;
    while (time - $t0 < $secs) { return 1 if $cond->(); sleep 0.05 }
    return 0;
}
sub source { my $r = get($_[0]); ($r->{headers}{'x-pc-source'} // '') . ' ' . (counts()->{consents} || 0) }

ok t_cmp(wait_for(15, sub { feed()->{healthy} }), 1, 'the feed is healthy');
get($x);
sleep 2.5;
sim(POST => '/__control/reset-counts');
ok t_cmp(source($x), 'cache 0', 'feed healthy: an allow older than the allow TTL (2 s) decides, no PingOne call');

# Paging: pages of one event, five events in the window: more pages than
# a poll reads (4 calls), so the window is read on at the next poll.
sim(POST => '/__control/activities', {max_page_items => 1});
get($_) for @z;
sim(POST => '/__control/revoke', {user_id => $_, application_id => $app}) for @z;
ok t_cmp(wait_for(15, sub { !grep { get($_)->{status} != 403 } @z }), 1,
         'five revokes, one event a page: all five denied');
ok t_cmp(logged(qr/PC00143: activity feed of environment \S+: more than 4 pages in a window; reading on at the next poll/), 1,
         'four pages a poll, the rest at the next one');
sim(POST => '/__control/activities', {max_page_items => 0});

# PingOneRevocationEvents decides for webhooks too.
sub deliver {
    sim(POST => '/__control/webhook', {url => "http://127.0.0.1:$srv->{port}/pingone/webhook",
        headers => {Authorization => 'Bearer feed-hook-secret-0123'},
        events => [{type => $_[0], user_id => $y, application_id => $app}]});
}
get($y);
deliver('USER.DISABLED');
sim(POST => '/__control/reset-counts');
ok t_cmp(source($y), 'cache 0', 'webhook USER.DISABLED, not in PingOneRevocationEvents: nothing dropped');
ok t_cmp(decode_json(deliver('CUSTOM.GONE')->{body})->{users_dropped}, 1, 'webhook CUSTOM.GONE, in the list: dropped');
sim(POST => '/__control/reset-counts');
ok t_cmp(source($y), 'pingone 1', 'the next request asks PingOne');

# 429: no audit call until Retry-After has passed.
sim_fault(endpoint => 'activities', type => 'rate_limit', retry_after => '4', count => 1);
ok t_cmp(wait_for(10, sub { logged(qr/PC00134: activity feed of environment \S+: PingOne's audit API answered 429; backing off 4 s/) }),
         1, 'a 429 is logged with its back-off');
my $c1 = counts()->{activities} || 0;
sleep 2.5;
ok t_cmp(counts()->{activities} || 0, $c1, 'no audit call while backing off');
ok t_cmp(wait_for(10, sub { (counts()->{activities} || 0) > $c1 }), 1, 'polling resumes after Retry-After');
ok t_cmp(status()->{counters}{feed_rate_limited} >= 1 ? 1 : 0, 1, 'counted (feed_rate_limited)');
ok t_cmp(wait_for(10, sub { feed()->{healthy} }), 1, 'healthy again');

# 403: the worker app lacks the audit role.
sim(POST => '/__control/activities', {audit_role => JSON::PP::false});
ok t_cmp(wait_for(10, sub { logged(qr/PC00135: activity feed of environment \S+: .*INSUFFICIENT_PERMISSIONS.*needs a role that may read audit/) }),
         1, '403: the log names the missing audit role');

# 500 from the audit endpoint: the feed turns unhealthy.
sim_fault(endpoint => 'activities', type => 'status', status => 500, count => -1);
sim(POST => '/__control/activities', {audit_role => JSON::PP::true});
ok t_cmp(wait_for(15, sub { logged(qr/PC00133: activity feed of environment \S+: audit activities: HTTP 500/) }), 1,
         'the failing poll is logged');
ok t_cmp(wait_for(15, sub { !feed()->{healthy} }), 1, 'the feed is unhealthy');
ok t_cmp(logged(qr/PC00136: activity feed of environment \S+ is unhealthy/), 1, 'and says so');
my $f = feed();
ok t_cmp(($f->{errors} >= 1 && ($f->{last_error} // '') =~ /HTTP 500/) ? 1 : 0, 1,
         "admin status: errors $f->{errors}, last error shown");
sim(POST => '/__control/reset-counts');
ok t_cmp(source($x), 'pingone 1', 'an allow older than the allow TTL is asked again, not served for the feed TTL');
sim(POST => '/__control/reset-counts');
ok t_cmp(source($x), 'cache 0', 'and cached again for the allow TTL');

$srv->{stop}->();
sim(DELETE => '/__control/faults');
sim_reset();
