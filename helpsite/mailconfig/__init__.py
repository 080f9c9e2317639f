"""Mail and FTP client configuration for a customer's domain, made from the provider facts.

Every value comes from content/provider.yaml, the same facts the guides show. Its host names
are examples for the example domain ("mail.voorbeeld.nl"); a customer's host name is that value
with the example domain swapped for theirs, so a guide and a configuration file can never disagree.

Out of one MailSettings come Thunderbird's autoconfig file, Outlook's Autodiscover answer
(autoconfig.py) and Apple's configuration profile; out of one FtpSettings a FileZilla
site-manager file (profiles.py). Only domains we host (a Domain row) get settings
(settings.py), and no file ever holds a password. Callers use the names from this package.
"""

from .autoconfig import (
    AUTODISCOVER_OUTLOOK_NS, AUTODISCOVER_REQUEST_NS, AUTODISCOVER_RESPONSE_NS, MAX_AUTODISCOVER_BYTES, AutodiscoverError,
    autoconfig_xml, autodiscover_error, autodiscover_response, read_autodiscover_request,
)
from .profiles import (
    FILEZILLA_FTPES, FILEZILLA_LOGON_ASK, FILEZILLA_SFTP, ProfileTexts, apple_profile, filezilla_sites, profile_uuid,
    sign_profile,
)
from .settings import (
    HOST_FACTS, LOCAL_PART, MAX_ADDRESS_LENGTH, MAX_LOCAL_PART_LENGTH, FtpSettings, MailSettings, Server, SetupError,
    Target, customer_value, example_address, ftp_settings, hosted_target, is_hosted, mail_settings, parse_target,
    personalise_html,
)

__all__ = [
    "AUTODISCOVER_OUTLOOK_NS", "AUTODISCOVER_REQUEST_NS", "AUTODISCOVER_RESPONSE_NS", "FILEZILLA_FTPES",
    "FILEZILLA_LOGON_ASK", "FILEZILLA_SFTP", "HOST_FACTS", "LOCAL_PART", "MAX_ADDRESS_LENGTH", "MAX_AUTODISCOVER_BYTES",
    "MAX_LOCAL_PART_LENGTH", "AutodiscoverError", "FtpSettings", "MailSettings", "ProfileTexts", "Server", "SetupError",
    "Target", "apple_profile", "autoconfig_xml", "autodiscover_error", "autodiscover_response", "customer_value",
    "example_address", "filezilla_sites", "ftp_settings", "hosted_target", "is_hosted", "mail_settings",
    "parse_target", "personalise_html", "profile_uuid", "read_autodiscover_request", "sign_profile",
]
