"""User agent classification on the user agents real clients send.

`observed_user_agents.txt` (shared/samples/user_agents) holds user agents from
real logs and vendor samples, and ones rendered from SDK and client source.
Every line of it has an expected class here, by the default rules and by the
default rules plus the SDK patterns the README shows.
"""

import os
import re
from pathlib import Path

import pytest

from funnel_assets.defs.resources import FunnelRules
from funnel_assets.lib.clients import DEFAULT_RULES, classify

SAMPLES = Path(os.environ.get("FUNNEL_SAMPLES_DIR", Path(__file__).resolve().parents[2] / "shared" / "samples"))
OBSERVED = SAMPLES / "user_agents" / "observed_user_agents.txt"

# The README's example: a company's own SDKs, tried before the default rules.
README_SDK_PATTERNS = [
    {"pattern": r"^Stripe/v\d+ (\w+)Bindings/", "kind": "sdk", "name": "stripe-{1}"},
    {"pattern": r"^(?:Async)?OpenAI/Python ", "kind": "sdk", "name": "openai-python"},
    {"pattern": r"^twilio-python/", "kind": "sdk", "name": "twilio-python"},
]

RAW, SDK, UNKNOWN = "raw_http", "sdk", "unknown"

# user agent -> (by the default rules, with the README's SDK patterns added)
EXPECTED = {
    "curl/7.22.0 (i686-pc-linux-gnu) libcurl/7.22.0 OpenSSL/1.0.1 zlib/1.2.3.4 libidn/1.23 librtmp/2.3": (RAW, "curl"),
    "python-requests/1.2.0 CPython/2.7.4 Linux/3.8.0-33-generic": (RAW, "python-requests"),
    "Python-urllib/2.7": (RAW, "python-urllib"),
    "Wget/1.14 (linux-gnu)": (RAW, "wget"),
    "Wget/1.13.4 (linux-gnu)": (RAW, "wget"),
    "Ruby": (RAW, "ruby"),
    "UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/": (UNKNOWN, "unknown"),
    "Tiny Tiny RSS/1.11 (http://tt-rss.org/)": (UNKNOWN, "unknown"),
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)": (UNKNOWN, "unknown"),
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.107 Safari/537.36": (
        UNKNOWN,
        "unknown",
    ),
    "curl/7.37.1": (RAW, "curl"),
    "HTTPie/3.2.3": (RAW, "httpie"),
    "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)": (UNKNOWN, "unknown"),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/46.0.2490.86 Safari/537.36": (
        UNKNOWN,
        "unknown",
    ),
    "Stripe/v1 PythonBindings/15.3.1": (UNKNOWN, "unknown"),
    "OpenAI/Python 3.3.1": (UNKNOWN, "unknown"),
    "AsyncOpenAI/Python 3.3.1": (UNKNOWN, "unknown"),
    "twilio-python/9.11.0 (Linux x86_64) Python/3.12.3": (UNKNOWN, "unknown"),
    "python-requests/2.34.2": (RAW, "python-requests"),
    "PostmanRuntime/7.53.0": (RAW, "postmanruntime"),
    "axios/1.7.9": (RAW, "axios"),
    "Go-http-client/1.1": (RAW, "go-http-client"),
    "curl/8.22.0-DEV": (RAW, "curl"),
}

WITH_README_SDKS = {
    "Stripe/v1 PythonBindings/15.3.1": (SDK, "stripe-python"),
    "OpenAI/Python 3.3.1": (SDK, "openai-python"),
    "AsyncOpenAI/Python 3.3.1": (SDK, "openai-python"),
    "twilio-python/9.11.0 (Linux x86_64) Python/3.12.3": (SDK, "twilio-python"),
}

# Default user agents of other raw clients the rules name, as those clients build them.
MORE_RAW_CLIENTS = {
    "acme-python/1.4.2": (SDK, "acme-python"),
    "acme-node/3.2.0": (SDK, "acme-node"),
    "curl/8.4.0": (RAW, "curl"),
    "okhttp/4.12.0": (RAW, "okhttp"),
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)": (RAW, "node-fetch"),
    "node-fetch": (RAW, "node-fetch"),
    "node": (RAW, "node"),
    "undici": (RAW, "undici"),
    "got (https://github.com/sindresorhus/got)": (RAW, "got"),
    "Java/1.8.0_151": (RAW, "java"),
    "Java-http-client/17.0.2": (RAW, "java-http-client"),
    "Apache-HttpClient/4.5.14 (Java/17.0.2)": (RAW, "apache-httpclient"),
    "libwww-perl/6.72": (RAW, "libwww-perl"),
    "python-httpx/0.27.0": (RAW, "python-httpx"),
    "Python/3.11 aiohttp/3.9.1": (RAW, "aiohttp"),
    "rest-client/2.1.0 (linux x86_64) ruby/3.2.2p53": (RAW, "rest-client"),
    "Faraday v2.9.0": (RAW, "faraday"),
    "GuzzleHttp/7": (RAW, "guzzlehttp"),
    "Dart/3.2 (dart:io)": (RAW, "dart"),
    "RestSharp/110.2.0.0": (RAW, "restsharp"),
    "insomnia/8.6.1": (RAW, "insomnia"),
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3803": (RAW, "powershell"),
    "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.22631; en-US) PowerShell/7.4.1": (RAW, "powershell"),
    "RubyGems/3.4.10 x86_64-linux Ruby/3.2.2": (UNKNOWN, "unknown"),
    "": (UNKNOWN, "unknown"),
}


def observed_user_agents() -> list[str]:
    """The user agents of the file: comment lines skipped, trailing `   (where it was seen)` notes removed."""
    if not OBSERVED.is_file():
        return []
    lines = (line.strip() for line in OBSERVED.read_text().splitlines())
    return [re.split(r"\s{2,}", line)[0] for line in lines if line and not line.startswith("#")]


needs_samples = pytest.mark.skipif(not OBSERVED.is_file(), reason=f"user agent samples not found at {OBSERVED}")


@needs_samples
def test_every_observed_user_agent_has_an_expectation():
    assert set(observed_user_agents()) == set(EXPECTED)


@needs_samples
@pytest.mark.parametrize("user_agent", observed_user_agents() or ["(samples missing)"])
def test_observed_user_agent_by_default_rules(user_agent):
    assert classify(user_agent, DEFAULT_RULES) == EXPECTED[user_agent]


@needs_samples
@pytest.mark.parametrize("user_agent", observed_user_agents() or ["(samples missing)"])
def test_observed_user_agent_with_the_readme_sdk_patterns(user_agent):
    rules = FunnelRules(extra_client_patterns=README_SDK_PATTERNS).client_rules
    assert classify(user_agent, rules) == WITH_README_SDKS.get(user_agent, EXPECTED[user_agent])


@pytest.mark.parametrize(("user_agent", "expected"), list(MORE_RAW_CLIENTS.items()))
def test_other_clients_by_default_rules(user_agent, expected):
    assert classify(user_agent, DEFAULT_RULES) == expected


def test_extra_patterns_go_before_the_defaults_and_keep_them():
    resource = FunnelRules(extra_client_patterns=[{"pattern": r"^curl/8\.4\.", "kind": "sdk", "name": "pinned-curl"}])
    assert classify("curl/8.4.0", resource.client_rules) == ("sdk", "pinned-curl")
    assert classify("curl/7.37.1", resource.client_rules) == ("raw_http", "curl")
    assert resource.client_rules[1:] == FunnelRules().client_rules
