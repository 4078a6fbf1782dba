/**
 * The HTTP API in front of handlers/api.ts. Every route needs a SigV4-signed request from an IAM
 * principal allowed `execute-api:Invoke` (the CLI signs with your AWS credentials), except the
 * unsubscribe pages under /u/: recipients open those from their mail client, and the signed token in
 * the link is what authorises them (core/compliance/unsubscribe.ts).
 *
 * Throttling: the stage's default (50 requests a second, bursts of 100) is a ceiling against runaway
 * clients of the signed routes. The public unsubscribe routes get their own, higher limit: during a large
 * send, mail providers' link scanners and one-click POSTs (RFC 8058) arrive at a fraction of the send
 * rate, and a 429 there is an unsubscribe that did not happen.
 */
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { UNSUBSCRIBE_PATH } from '../../core/compliance/unsubscribe.ts';
import { acknowledge } from '../nag.ts';

export interface ApiProps {
  logRetention: logs.RetentionDays;
}

/** The stage-wide default throttle: every route without its own settings. */
export const STAGE_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const;
/**
 * The unsubscribe routes' throttle, per route key. Well under API Gateway's account-wide 10,000 requests
 * a second (bursts of 5,000) per region, which all APIs of the account share.
 */
export const PUBLIC_ROUTE_THROTTLE = { rateLimit: 2000, burstLimit: 4000 } as const;

/** The route key of the public unsubscribe pages, as API Gateway names it in RouteSettings. */
export const PUBLIC_ROUTE_KEY = `ANY ${UNSUBSCRIBE_PATH}{proxy+}`;

/**
 * One JSON line per request. `$context.resourcePath` is a REST API variable that HTTP APIs leave empty;
 * the route key says which route answered. The path is left out on purpose: under /u/ it carries the
 * unsubscribe token, which holds the recipient's address.
 */
export const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integration.latency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
});

export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  /** The base URL, without a trailing slash. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'sixback API (IAM-authorised; /u/ unsubscribe pages are public)',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
      // A ceiling against runaway clients; the API's own work per request is small.
      throttle: { ...STAGE_THROTTLE },
    });
    this.url = this.httpApi.apiEndpoint;
  }

  /** Routes every request to the API function: IAM-authorised, unsubscribe pages public. */
  addHandler(fn: lambda.IFunction): void {
    const integration = new HttpLambdaIntegration('ApiIntegration', fn);
    this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [apigw.HttpMethod.ANY],
      integration,
      authorizer: new HttpIamAuthorizer(),
    });
    const unsubscribe = this.httpApi.addRoutes({
      // GET shows the page, POST unsubscribes (RFC 8058); ANY also answers mail scanners' HEAD.
      path: `${UNSUBSCRIBE_PATH}{proxy+}`,
      methods: [apigw.HttpMethod.ANY],
      integration,
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    const stage = this.stage.node.defaultChild as apigw.CfnStage;
    // RouteSettings is a JSON map from route key to settings: CloudFormation's own property names.
    stage.routeSettings = {
      [PUBLIC_ROUTE_KEY]: {
        ThrottlingRateLimit: PUBLIC_ROUTE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: PUBLIC_ROUTE_THROTTLE.burstLimit,
      },
    };
    for (const route of unsubscribe) {
      // API Gateway rejects route settings for a route key that does not exist yet.
      this.stage.node.addDependency(route);
      acknowledge(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'Unsubscribe links are opened by email recipients, who have no AWS identity; each link carries an HMAC-signed token that the handler verifies (RFC 8058 one-click).',
        },
      ]);
    }
  }
}
