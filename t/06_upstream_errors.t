# PingOne failures fail closed: 503 with Retry-After, logged at error with
# the cause; bad data denies safely; 401 from the API refreshes the token once.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use Time::HiRes qw(sleep);

my @faults = (
    # fault, note tag, log pattern
    [{type => 'status', status => 503, retry_after => '11'}, 'upstream-503', qr/HTTP 503/],
    [{type => 'status', status => 500}, 'upstream-500', qr/HTTP 500/],
    [{type => 'status', status => 403}, 'upstream-403', qr/HTTP 403/],
    [{type => 'rate_limit', retry_after => '1'}, 'upstream-429', qr/rate limit \(429\)/],
    [{type => 'malformed'}, 'upstream-parse', qr/unusable answer/],
    [{type => 'truncated'}, 'upstream-failed|upstream-connect', qr/consent lookup: /],
    # curl retries once on a reused connection that dies: reset both.
    [{type => 'reset', count => 2}, 'upstream-connect|upstream-failed', qr/consent lookup: /],
    [{type => 'latency', latency_ms => 2500}, 'upstream-timeout', qr/consent lookup: .*(?i:timed? ?out)/],
    [{type => 'body', body => '{"_embedded":{"oauthConsents":[{"id":"x","status":"ACCEPTED","scope":"openid profile"}]}}'},
        'upstream-parse', qr/scope/],
    [{type => 'body', body => '{"_embedded":{"oauthConsents":[{"id":"x","status":1,"scope":["openid"]}]}}'},
        'upstream-parse', qr/status/],
    [{type => 'body', body => '[1,2,3]'}, 'upstream-parse', qr/unusable answer/],
    [{type => 'body', body => ('[' x 5000)}, 'upstream-parse', qr/unusable answer/],
    [{type => 'redirect', location => 'http://127.0.0.2:9/steal'}, 'upstream-302', qr/redirect to/],
);

plan tests => 5 * @faults + 16;
sim_reset();

for my $f (@faults) {
    my ($fault, $tag, $logre) = @$f;
    sim(DELETE => '/__control/faults');
    sim_fault(endpoint => 'consents', count => 1, %$fault);  # %$fault may override count
    my $m = decision_mark();
    my $lm = log_mark();
    my $r = req('/consent/index.html', user => $U{alice});
    my $what = $fault->{type} . ($fault->{status} ? " $fault->{status}" : '');
    ok t_cmp($r->{status}, 503, "$what -> 503 (fail closed)");
    ok t_cmp($r->{headers}{'retry-after'}, qr/^\d+$/, "$what: Retry-After");
    my ($line) = decision_since($m);
    ok t_cmp($line, qr/ 503 error:(?:$tag) /, "$what: note error:$tag");
    my $log = log_since($lm, qr/PC00111/);
    ok t_cmp($log, qr/\[pingone_consent:error\].*PC00111: cannot check consent/, "$what: logged at error");
    ok t_cmp($log, $logre, "$what: the log says why");
    # A 429 makes every process back off until Retry-After has passed.
    sleep 1.2 if $fault->{type} eq 'rate_limit';
}
sim(DELETE => '/__control/faults');

# Retry-After from PingOne is passed on.
sim_fault(endpoint => 'consents', type => 'rate_limit', retry_after => '2');
my $r = req('/consent/index.html', user => $U{alice});
ok t_cmp($r->{headers}{'retry-after'}, '2', '429 Retry-After: 2 is passed on');
sleep 2.2;

# Recovery: the next request works.
$r = req('/consent/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'after the faults: 200 again');

# 401 from the API: one new token, one retry, success.
sim(POST => '/__control/reset-counts');
sim_fault(endpoint => 'consents', type => 'invalid_token', count => 1);
my $http = HTTP::Tiny->new(max_redirect => 0, keep_alive => 1);
$r = req('/consent/index.html', user => $U{alice}, http => $http);
ok t_cmp($r->{status}, 200, '401 once -> fresh token, retried, 200');
my $c = counts();
ok t_cmp($c->{consents}, 2, 'the consent call was retried exactly once');
ok t_cmp($c->{token} >= 1, 1, 'a new token was fetched');

# 401 twice: give up with 503.
sim(POST => '/__control/reset-counts');
sim_fault(endpoint => 'consents', type => 'invalid_token', count => 2);
my $m = decision_mark();
$r = req('/consent/index.html', user => $U{alice}, http => $http);
ok t_cmp($r->{status}, 503, '401 twice -> 503');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 503 error:upstream-401 /, 'note error:upstream-401');
ok t_cmp(counts()->{consents}, 2, 'no retry storm: two calls');

# Tokens expired at PingOne: the next call refreshes transparently.
sim(POST => '/__control/expire-tokens');
$r = req('/consent/index.html', user => $U{alice}, http => $http);
ok t_cmp($r->{status}, 200, 'expired token -> refreshed -> 200');

# Token endpoint failures, unreachable PingOne, oversized answers.
$m = decision_mark();
$r = req('/', user => $U{alice}, vhost => 'pc_badsecret');
ok t_cmp($r->{status}, 503, 'rejected worker secret -> 503');
($line) = decision_since($m);
ok t_cmp($line, qr/ 503 error:upstream-token /, 'note error:upstream-token');

$m = decision_mark();
$r = req('/', user => $U{alice}, vhost => 'pc_down');
ok t_cmp($r->{status}, 503, 'PingOne unreachable -> 503');
($line) = decision_since($m);
ok t_cmp($line, qr/ 503 error:upstream-connect /, 'note error:upstream-connect');

sim_fault(endpoint => 'consents', type => 'huge', size => 100000);
$m = decision_mark();
$r = req('/', user => $U{alice}, vhost => 'pc_smallcap');
ok t_cmp($r->{status}, 503, 'answer over PingOneMaxResponseSize -> 503');
($line) = decision_since($m);
ok t_cmp($line, qr/ 503 error:upstream-too-big /, 'note error:upstream-too-big');
ok t_cmp(counts()->{unknown}, 0, 'the redirect was never followed');
