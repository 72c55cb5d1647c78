from products.models import Ticket


def ticket_open_count() -> int:
    return Ticket.objects.exclude(status__in=Ticket.CLOSED_STATUSES).count()
