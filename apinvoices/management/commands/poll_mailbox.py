from django.core.management.base import BaseCommand, CommandError

from apinvoices.ingestion.imap import ImapConfigError, MailboxConfig, poll_mailbox


class Command(BaseCommand):
    help = "Poll the AP mailbox once (AP_IMAP_*). One line per message and attachment."

    def add_arguments(self, parser):
        parser.add_argument("--no-move", action="store_true", help="leave messages in the folder")

    def handle(self, *args, no_move, **options):
        config = MailboxConfig.from_settings()
        if config is None:
            raise CommandError("AP_IMAP_HOST is not set")
        try:
            report = poll_mailbox(config, move=not no_move)
        except ImapConfigError as err:
            raise CommandError(str(err)) from err
        for outcome in report.messages:
            for line in outcome.lines or [f"{outcome.status} uid {outcome.uid}"]:
                self.stdout.write(line)
