from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


# Pages (HTML lists): the same idea for the site's own pages. A list page shows one page of rows, the total, and
# links to the neighbouring pages that keep every other parameter of the request (the list's filters).


@dataclass(frozen=True)
class ListPage:
    page: Page  # .object_list, .number, .paginator.count / .num_pages, .has_next() …
    query: str  # the request's other parameters, URL-encoded ("" when none): a pager link is ?{query}&page=N
    param: str  # the page parameter's name

    @property
    def rows(self) -> list:
        return list(self.page.object_list)


def list_page(request, rows, *, per_page: int, param: str = "page") -> ListPage:
    """Page ``param`` of ``rows`` (a queryset or list) for a page's list: two queries for a queryset (the count and
    the rows); a missing, malformed or out-of-range number shows the nearest page (the first or the last)."""
    params = request.GET.copy()
    number = params.pop(param, ["1"])[-1]
    page = Paginator(rows, per_page).get_page(number)
    return ListPage(page=page, query=params.urlencode(), param=param)
