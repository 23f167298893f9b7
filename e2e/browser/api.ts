// Seeding through the public GraphQL API (never the database): the browser tests create what a
// scenario needs around the screen under test with these calls, then act in the browser.
export class Api {
  token: string | null = null;
  #credentials: { email: string; password: string } | null = null;
  constructor(readonly url: string) {}

  /** Logs in again when the (short-lived) access token has expired. */
  async gql<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    try {
      return await this.#gql<T>(query, variables);
    } catch (err) {
      if (!this.#credentials || !/Access token expired/.test(String(err))) throw err;
      await this.login(this.#credentials.email, this.#credentials.password);
      return this.#gql<T>(query, variables);
    }
  }

  async #gql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`);
    return body.data as T;
  }

  /** Runs a mutation whose result is a union and returns the success payload, or throws its message. */
  async ok(query: string, variables: Record<string, unknown> = {}): Promise<any> {
    const data = await this.gql(query, variables);
    const payload = Object.values(data)[0] as { __typename: string; message?: string };
    if (!payload.__typename.endsWith('Success')) throw new Error(`${payload.__typename}: ${payload.message} ${JSON.stringify(payload)}`);
    return payload;
  }

  async login(email: string, password: string): Promise<this> {
    this.token = null;
    this.#credentials = { email, password };
    const p = await this.ok(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename ... on MutationLoginSuccess { session { accessToken } } ... on Error { message } } }`,
      { e: email, p: password },
    );
    this.token = p.session.accessToken;
    return this;
  }

  async createPackage(name: string, limits: Record<string, number> = {}): Promise<string> {
    const p = await this.ok(
      `mutation($i: HostingPackageInput!) { createHostingPackage(input: $i) { __typename ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } ... on Error { message } } }`,
      { i: { name, ...limits } },
    );
    return p.hostingPackage.id;
  }

  async createCustomer(name: string, packageId: string): Promise<string> {
    const p = await this.ok(
      `mutation($n: String!, $p: ID!) { createCustomer(name: $n, packageId: $p) { __typename ... on MutationCreateCustomerSuccess { customer { id } } ... on Error { message } } }`,
      { n: name, p: packageId },
    );
    return p.customer.id;
  }

  async createUser(email: string, password: string, customerId: string | null): Promise<string> {
    const p = await this.ok(
      `mutation($e: String!, $p: String!, $r: Role!, $c: ID) { createUser(email: $e, password: $p, role: $r, customerId: $c) { __typename ... on MutationCreateUserSuccess { user { id } } ... on Error { message } } }`,
      { e: email, p: password, r: customerId ? 'CUSTOMER' : 'ADMIN', c: customerId },
    );
    return p.user.id;
  }

  async createDomain(name: string, customerId: string): Promise<string> {
    const p = await this.ok(
      `mutation($n: String!, $c: ID) { createDomain(name: $n, customerId: $c) { __typename ... on MutationCreateDomainSuccess { domain { id } } ... on Error { message } } }`,
      { n: name, c: customerId },
    );
    return p.domain.id;
  }

  async createMailbox(username: string, domain: string, password: string, quotaMb = 100): Promise<{ id: string; address: string }> {
    const p = await this.ok(
      `mutation($u: String!, $d: String!, $p: String!, $q: Int) { createMailbox(username: $u, domain: $d, password: $p, quotaMb: $q) { __typename ... on MutationCreateMailboxSuccess { mailbox { id address } } ... on Error { message } } }`,
      { u: username, d: domain, p: password, q: quotaMb },
    );
    return p.mailbox;
  }

  async createForward(source: string, destinations: string[]): Promise<string> {
    const p = await this.ok(
      `mutation($s: String!, $d: [String!]!) { createForward(source: $s, destinations: $d) { __typename ... on MutationCreateForwardSuccess { forward { id } } ... on Error { message } } }`,
      { s: source, d: destinations },
    );
    return p.forward.id;
  }
}
