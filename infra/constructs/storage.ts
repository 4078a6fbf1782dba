/**
 * Where sixback keeps things: one private bucket (uploaded recipients, prepared files, Map results,
 * reports, images) and the DynamoDB tables, declared from core/aws/tables.ts so the local stack and
 * AWS cannot disagree on a key.
 *
 * With `retained` (the deployment's retainData parameter), the bucket and tables an earlier, deleted
 * deployment left behind are taken back by name instead of being created: the stack then neither creates
 * nor deletes them, and their own settings (lifecycle rules, CORS, access logging, point-in-time
 * recovery) stay as that deployment left them.
 */
import { Duration, RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { TABLES, type TableName, type TableShape } from '../../core/aws/tables.ts';
import { keys } from '../../core/config.ts';
import { acknowledge } from '../nag.ts';

/** Everything a campaign writes lives under this prefix (core/config.ts `keys.campaignPrefix`). */
export const CAMPAIGNS_PREFIX = keys.campaignPrefix('').replace(/\/+$/, '/');

export interface StorageProps {
  retainData: boolean;
  uploadRetentionDays: number;
  /** 0 keeps campaign files for good. */
  campaignFileRetentionDays: number;
  /** Names of a deleted deployment's retained bucket and tables, to reuse instead of creating. */
  retained?: { bucket: string; analytics?: string } & Record<
    Exclude<TableName, 'analytics' | 'webhooks'>,
    string
  >;
}

/** The tag on every data resource the stack creates, naming its role: how to find them after a destroy. */
export const DATA_TAG = 'sixback:data';

export class Storage extends Construct {
  readonly bucket: s3.IBucket;
  readonly tables: Record<TableName, dynamodb.ITable>;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    if (props.retained) {
      const retained = props.retained;
      this.bucket = reuseBucket(this, retained.bucket);
      this.tables = {
        templates: reuseTable(this, 'Templates', retained.templates, TABLES.templates),
        campaigns: reuseTable(this, 'Campaigns', retained.campaigns, TABLES.campaigns),
        ledger: reuseTable(this, 'Ledger', retained.ledger, TABLES.ledger),
        suppression: reuseTable(this, 'Suppression', retained.suppression, TABLES.suppression),
        // A deployment from before the analytics table retained none: this one starts a new one.
        analytics: retained.analytics
          ? reuseTable(this, 'Analytics', retained.analytics, TABLES.analytics)
          : this.table('Analytics', TABLES.analytics, removalPolicy),
        webhooks: this.webhooksTable(),
      };
      return;
    }

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(365) }],
      removalPolicy,
    });
    Tags.of(accessLogs).add(DATA_TAG, 'accessLogs');
    acknowledge(accessLogs, [
      {
        id: 'AwsSolutions-S1',
        reason: 'This is the server access log bucket itself; logging it would log its own log deliveries.',
      },
    ]);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'data-bucket/',
      // Browsers upload recipients and images straight to S3 with a presigned POST (core/recipients/uploads.ts).
      cors: [
        {
          allowedMethods: [s3.HttpMethods.POST],
          allowedOrigins: ['*'],
          allowedHeaders: ['*'],
        },
      ],
      lifecycleRules: [
        {
          id: 'expire-old-uploads',
          prefix: keys.recipientsUploadPrefix,
          expiration: Duration.days(props.uploadRetentionDays),
        },
        // Uploads the presigned POST or ResultWriter started and never finished.
        { id: 'abort-incomplete-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        ...(props.campaignFileRetentionDays > 0
          ? [
              {
                id: 'expire-campaign-files',
                prefix: CAMPAIGNS_PREFIX,
                expiration: Duration.days(props.campaignFileRetentionDays),
              },
            ]
          : []),
        // images/ has no expiry on purpose: emails already sent keep pointing at those images for years.
      ],
      removalPolicy,
    });
    Tags.of(this.bucket).add(DATA_TAG, 'bucket');

    this.tables = {
      templates: this.table('Templates', TABLES.templates, removalPolicy),
      campaigns: this.table('Campaigns', TABLES.campaigns, removalPolicy),
      ledger: this.table('Ledger', TABLES.ledger, removalPolicy),
      suppression: this.table('Suppression', TABLES.suppression, removalPolicy),
      analytics: this.table('Analytics', TABLES.analytics, removalPolicy),
      webhooks: this.webhooksTable(),
    };
  }

  /**
   * Webhook subscriptions and their delivery logs are configuration and recent history, not data to keep:
   * the table goes with the stack (subscribers are added again after a redeploy), and log items expire
   * on their own after 30 days (TTL on expiresAt).
   */
  private webhooksTable(): dynamodb.Table {
    const table = this.table('Webhooks', TABLES.webhooks, RemovalPolicy.DESTROY);
    (table.node.defaultChild as dynamodb.CfnTable).timeToLiveSpecification = {
      attributeName: 'expiresAt',
      enabled: true,
    };
    return table;
  }

  private table(id: string, shape: TableShape, removalPolicy: RemovalPolicy): dynamodb.Table {
    const table = new dynamodb.Table(this, id, {
      partitionKey: { name: shape.partitionKey, type: dynamodb.AttributeType.STRING },
      ...(shape.sortKey
        ? {
            sortKey: {
              name: shape.sortKey.name,
              type:
                shape.sortKey.type === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
            },
          }
        : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      ...(shape.ttlAttribute ? { timeToLiveAttribute: shape.ttlAttribute } : {}),
      removalPolicy,
    });
    for (const index of shape.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        ...(typeof index.projection === 'string'
          ? { projectionType: dynamodb.ProjectionType[index.projection] }
          : { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: index.projection.include }),
      });
    }
    Tags.of(table).add(DATA_TAG, id.toLowerCase());
    return table;
  }
}

/**
 * A retained bucket, by name, with a bucket policy of this stack: the earlier deployment's policy went
 * with it (only the bucket was retained), and the new CloudFront distribution needs its own statement.
 */
function reuseBucket(scope: Construct, bucketName: string): s3.IBucket {
  const bucket = s3.Bucket.fromBucketAttributes(scope, 'Bucket', { bucketName });
  const policy = new s3.BucketPolicy(scope, 'BucketPolicy', { bucket });
  // What enforceSSL adds to a bucket the stack creates.
  policy.document.addStatements(
    new iam.PolicyStatement({
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:*'],
      resources: [bucket.bucketArn, bucket.arnForObjects('*')],
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }),
  );
  // An imported bucket adds statements to the policy it is given, and to none otherwise.
  (bucket as { policy?: s3.BucketPolicy }).policy = policy;
  return bucket;
}

/** A retained table, by name, with the indexes core/aws/tables.ts declares, so grants can name them. */
function reuseTable(scope: Construct, id: string, tableName: string, shape: TableShape): dynamodb.ITable {
  return dynamodb.Table.fromTableAttributes(scope, id, {
    tableName,
    ...(shape.indexes?.length ? { globalIndexes: shape.indexes.map((index) => index.name) } : {}),
  });
}
